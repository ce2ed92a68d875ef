"""``cnet-bench --distributed``: data-parallel training (cnet.distributed) against one process, on this machine.

Each configuration runs in its own processes, one thread each: 1 process without MPI (the baseline), 2
processes over shared memory, 2 processes with MPICH's shared-memory transport off so that the gradients
cross the TCP stack on the loopback interface (MPIR_CVAR_NOLOCAL=1 with the OFI netmod's tcp provider on
``lo``; the bytes that went through ``lo`` are counted from /proc/net/dev, which shows that they did), and
the deterministic mode on 1 and 2 processes. Figures per training step: the time (median over the timed
steps of the median round), the time spent putting gradients on the fixed-point grid, waiting for the
sums after the backward pass (exposed communication plus imbalance), writing the gradients back, the bytes
summed, and the time of a blocking allreduce of those bytes alone.

The worker is this module: ``python -m cnet.bench.distributed --worker MODE ...`` under mpiexec.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

TCP_ENV = {"MPIR_CVAR_NOLOCAL": "1", "MPIR_CVAR_CH4_NETMOD": "ofi", "FI_PROVIDER": "tcp", "FI_TCP_IFACE": "lo"}


def find_mpiexec():
    """mpiexec beside this Python (the mpich wheel puts it there), else on PATH; None when absent."""
    return shutil.which("mpiexec", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))


def loopback_bytes():
    """Bytes received on the loopback interface so far (Linux), or None."""
    try:
        with open("/proc/net/dev") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name.strip() == "lo":
                    return int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return None


# ---- the worker (runs in each process) -------------------------------------------------------------

def _worker(argv):
    p = argparse.ArgumentParser(prog="python -m cnet.bench.distributed")
    p.add_argument("--worker", choices=("plain", "fast", "det"), required=True)
    p.add_argument("--model", default="cnn")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    import cnet
    from cnet import zoo
    dist = None
    if a.worker != "plain":
        import cnet.distributed as dist
        dist.init(deterministic=a.worker == "det")
    cnet.set_num_threads(a.threads)
    from .e2e import _e2e_data, cnet_model
    model = cnet_model(a.model, a.seed)
    n = a.batch * (a.warmup + a.steps)
    x, y, source = _e2e_data(n, zoo.input_shape(a.model), a.seed)
    times, cpu = [], []
    red = None
    for i in range(a.warmup + a.steps):
        if i == a.warmup and dist is not None:
            red = model._dist_runner.reducer
            red.seconds = dict.fromkeys(red.seconds, 0.0)
            dist.barrier()
        start, cpu_start = time.perf_counter(), time.process_time()
        model.train_on_batch(x[i * a.batch:(i + 1) * a.batch], y[i * a.batch:(i + 1) * a.batch])
        if i >= a.warmup:
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - cpu_start)
    result = {"mode": a.worker, "model": a.model, "batch": a.batch, "threads": a.threads, "data": source,
              "processes": 1 if dist is None else dist.size(), "step_s": statistics.median(times),
              "cpu_s": statistics.median(cpu), "steps": a.steps}
    if dist is not None:
        engine = cnet._parallel.engine()
        result.update({k + "_s": v / a.steps for k, v in red.seconds.items()})
        result.update(pieces=engine.pieces, buckets=len(red.buckets), sum_bytes=red.bytes + red.meta.nbytes,
                      redone_steps=engine.redone)
        buf = np.ones(red.acc.size)
        comm = dist._state["comm"]
        alone = []
        for _ in range(5):
            dist.barrier()
            start = time.perf_counter()
            comm.allreduce(buf)
            alone.append(time.perf_counter() - start)
        result["allreduce_alone_s"] = statistics.median(alone)
    if dist is None or dist.rank() == 0:
        print("RESULT " + json.dumps(result), flush=True)


# ---- the driver (cnet-bench --distributed) ---------------------------------------------------------

def _configs(mpiexec):
    """(label, processes, mode, extra environment) of each configuration."""
    configs = [("1 process x 1 thread (no MPI)", 1, "plain", {}),
               ("1 process x 2 threads (no MPI)", 1, "plain2", {})]
    if mpiexec:
        configs += [("2 processes x 1 thread, shared memory", 2, "fast", {}),
                    ("2 processes x 1 thread, TCP on loopback", 2, "fast", TCP_ENV),
                    ("1 process x 1 thread, deterministic", 1, "det", {}),
                    ("2 processes x 1 thread, deterministic, shared memory", 2, "det", {})]
    return configs


def _run(mpiexec, n, mode, env, model, batch, steps, warmup, seed):
    threads = 2 if mode == "plain2" else 1
    mode = "plain" if mode == "plain2" else mode
    cmd = [sys.executable, "-m", "cnet.bench.distributed", "--worker", mode, "--model", model, "--batch",
           str(batch), "--steps", str(steps), "--warmup", str(warmup), "--threads", str(threads), "--seed",
           str(seed)]
    if mode != "plain":
        cmd = [mpiexec, "-n", str(n)] + cmd
    full = dict(os.environ, OMP_NUM_THREADS=str(threads), **env)
    before = loopback_bytes()
    p = subprocess.run(cmd, capture_output=True, text=True, env=full, stdin=subprocess.DEVNULL, timeout=1800)
    after = loopback_bytes()
    lines = [line for line in p.stdout.splitlines() if line.startswith("RESULT ")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"cnet-bench --distributed: {' '.join(cmd)} failed (exit code {p.returncode}):\n"
                           f"{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    if before is not None and after is not None:
        result["loopback_bytes"] = after - before
    return result


def run_distributed(args, out):
    """Run every configuration `args.repeats` times (interleaved), print the table, return the results."""
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    model = (args.models or ("softmax" if mode == "smoke" else "cnn")).split(",")[0].split(":")[0]
    from cnet import zoo
    batch = zoo.DEFAULTS[model].batch_size if model in zoo.DEFAULTS else 128
    steps, warmup, rounds = {"full": (10, 3, 3), "quick": (5, 2, 1), "smoke": (2, 2, 1)}[mode]
    rounds = args.repeats or rounds
    mpiexec = find_mpiexec()
    out(f"== distributed {'=' * 68}")
    if mpiexec is None:
        out('  mpiexec not found (pip install "cnet[mpi]"): only the single-process rows')
    configs = _configs(mpiexec)
    runs = {c[0]: [] for c in configs}
    for _ in range(rounds):
        for label, n, cmode, env in configs:
            runs[label].append(_run(mpiexec, n, cmode, env, model, batch, steps, warmup, args.seed))
    rows = []
    for label, n, cmode, env in configs:   # the best round: other work on the machine only slows rounds
        r = dict(min(runs[label], key=lambda r: r["step_s"]), label=label,
                 rounds=[x["step_s"] for x in runs[label]])
        rows.append(r)
    base, base_cpu = rows[0]["step_s"], rows[0]["cpu_s"]
    out(f"  {model}, global batch {batch}, {steps} timed steps after {warmup}, best of {rounds} round(s) (each the "
        f"median of its steps); {rows[0]['data']} data; per step:")
    out(f"  {'configuration':<52}{'step':>9}{'speed-up':>9}{'cpu':>8}{'cpu x':>7}{'grid':>7}{'wait':>7}{'write':>7}"
        f"{'MB':>6}{'alone':>7}{'lo MB':>7}")
    for r in rows:
        ms = lambda k: f"{r[k] * 1e3:.1f}" if k in r else "-"      # noqa: E731
        lo = r.get("loopback_bytes")
        lo_mb = f"{lo / 2 ** 20 / (r['steps'] + warmup + 5):.1f}" if lo is not None and r["mode"] != "plain" else "-"
        mb = f"{r['sum_bytes'] / 2 ** 20:.1f}" if "sum_bytes" in r else "-"
        out(f"  {r['label']:<52}{r['step_s'] * 1e3:>7.1f}ms{base / r['step_s']:>8.2f}x{r['cpu_s'] * 1e3:>6.0f}ms"
            f"{base_cpu / r['cpu_s']:>6.2f}x{ms('convert_s'):>7}{ms('wait_s'):>7}{ms('write_s'):>7}{mb:>6}"
            f"{ms('allreduce_alone_s'):>7}{lo_mb:>7}")
    out("  cpu: CPU seconds of a process per step (rank 0; MPI's waits spin), cpu x: the 1-process CPU time over "
        "it (less sensitive to other work on the machine than the wall time); grid/wait/write: ms preparing "
        "the sums (the fixed-point grid, or the share's weight), waiting for them after backward, writing "
        "them back; MB: bytes summed per step (4-byte floats with one or two pieces per batch, else 8-byte "
        "grid values); alone: a blocking allreduce of those bytes by itself; lo MB: bytes through the "
        "loopback interface per step (about: the run's bytes over its allreduces)")
    results = {"model": model, "batch": batch, "steps": steps, "warmup": warmup, "rounds": rounds, "rows": rows}
    det = next((r for r in rows if r["mode"] == "det" and r["processes"] == 2), None)
    if det is not None and mode != "smoke":
        step_times = read_step_times(args.step_times) if args.step_times else None
        results["projection"] = project(out, det, mpiexec, args.seed, max(2, steps // 2), step_times)
    return results


# ---- the projection to a cluster ----------------------------------------------------------------

MACHINES = (2, 4, 8, 16, 32, 64)
NETWORKS = ((10e9, "10 Gb/s"), (25e9, "25 Gb/s"))
LATENCY = 25e-6   # seconds per message on Ethernet with TCP (an assumption, typical of 10-25 GbE)


def ring_allreduce_s(nbytes, machines, bandwidth_bits, latency=LATENCY):
    """The ring allreduce's time: 2(P-1)/P x bytes / bandwidth + 2(P-1) latencies."""
    p = machines
    return 2 * (p - 1) / p * nbytes * 8 / bandwidth_bits + 2 * (p - 1) * latency


def read_step_times(path):
    """{model: seconds} of the 2-thread C-backend training steps in the e2e section of an earlier
    cnet-bench run's text output (such as benchmarks/latest-full.txt)."""
    import re
    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
    found = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s+(\w+)\s+\d+\s+2\s+c\s+([\d.]+)(us|ms|s)\s", line)
            if m:
                found[m.group(1)] = float(m.group(2)) * units[m.group(3)]
    return found


def project(out, det, mpiexec, seed, steps, step_times=None):
    """Predicted speed-up of each bundled model on P machines like this one (one process of 2 threads
    each, the default mode: one piece per process, so from 3 machines on the fixed-point sums of 8 bytes
    per parameter, 4 bytes on 2): step(P) = step(1)/P + the per-process cost of one piece's grid and of
    writing the sums + the ring allreduce (no overlap assumed, and perfect division of the compute: an
    upper bound for small shares). step(1) is measured here (or taken from `step_times`); the grid's cost
    per parameter comes from the deterministic 2-process run above (per piece)."""
    from cnet import zoo
    params0 = sum(int(np.size(w)) for w in zoo.build_model(det["model"]).get_weights())
    grid_per_param = (det["convert_s"] / (det["pieces"] / det["processes"]) + det["write_s"]) / params0
    out(f"  projection to P machines like this one (1 process x 2 threads each; ring allreduce of 4 bytes per "
        f"parameter on 2 machines, 8 from 3 on, {LATENCY * 1e6:.0f} us per message, no overlap; preparing and "
        f"writing the sums "
        f"{grid_per_param * 1e9:.1f} ns per parameter per step; step(1) "
        + ("from the earlier run given" if step_times else "measured here") + "):")
    out(f"  {'model':<15}{'params':>10}{'MB(P>2)':>9}{'step(1)':>9}  {'network':<8}"
        + "".join(f"{'P=' + str(p):>8}" for p in MACHINES))
    table = []
    for name in zoo.MODELS:
        params = sum(int(np.size(w)) for w in zoo.build_model(name).get_weights())
        batch = zoo.DEFAULTS[name].batch_size
        t1 = (step_times or {}).get(name) or _run(mpiexec, 1, "plain2", {}, name, batch, steps, 2, seed)["step_s"]
        nbytes = 8 * params
        for bandwidth, label in NETWORKS:
            speedups = [t1 / (t1 / p + grid_per_param * params + ring_allreduce_s(nbytes, p, bandwidth))
                        if p > 2 else t1 / (t1 / p + ring_allreduce_s(nbytes // 2, p, bandwidth))
                        for p in MACHINES]
            table.append({"model": name, "params": params, "bytes": nbytes, "batch": batch, "step1_s": t1,
                          "network": label, "speedups": dict(zip(MACHINES, speedups))})
            out(f"  {name:<15}{params:>10,}{nbytes / 2 ** 20:>9.2f}{t1 * 1e3:>7.1f}ms  {label:<8}"
                + "".join(f"{x:>7.1f}x" for x in speedups))
    return table


if __name__ == "__main__":
    _worker(sys.argv[1:])
