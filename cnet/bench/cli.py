"""The ``cnet-bench`` command (also ``cnet bench`` and ``python -m benchmarks``): its options and the order
of the sections."""
import argparse
import datetime as _dt
import json
import os
import sys
import time

import cnet
from cnet import ops, zoo
from cnet._command import UserError, run
from cnet._fileio import atomic_write

from .machine import loadavg
from .infer import run_infer
from .report import markdown_report
from .suite import Suite

SECTIONS = ("machine", "kernels", "gemm", "conv", "e2e", "infer")


def _parse_threads(s):
    try:
        ts = sorted({int(v) for v in s.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads: expected a comma-separated list of ints, got {s!r}")
    if not ts or ts[0] < 1:
        raise argparse.ArgumentTypeError(f"--threads: thread counts must be >= 1, got {s!r}")
    return ts


def _parse_only(s):
    parts = [p.strip() for p in s.split(",") if p.strip()]
    bad = [p for p in parts if p not in SECTIONS]
    if bad or not parts:
        raise argparse.ArgumentTypeError(f"--only: expected some of {', '.join(SECTIONS)}, got {s!r}")
    return parts


def _parse_batches(s):
    try:
        bs = [int(v) for v in s.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--batch: expected a comma-separated list of ints, got {s!r}") from None
    if not bs or min(bs) < 1:
        raise argparse.ArgumentTypeError(f"--batch: batch sizes must be >= 1, got {s!r}")
    return list(dict.fromkeys(bs))   # in the order given, each once


def _positive_int(s):
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {s!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {s!r}")
    return n


def build_parser(prog="cnet-bench"):
    p = argparse.ArgumentParser(
        prog=prog,
        description="cnet benchmark suite: machine line, kernels, GEMM, conv layers, end-to-end training, "
                    "inference (C backend vs NumPy reference vs PyTorch when importable).")
    p.add_argument("--quick", action="store_true", help="smallest sizes, few repeats (< 2 min on 2 cores); default: the full suite")
    p.add_argument("--smoke", action="store_true",
                   help="minimum sizes and repeats of a few cases in every section (for tests; < 20 s); default: off")
    p.add_argument("--only", type=_parse_only, default=list(SECTIONS),
                   help="comma-separated sections among " + ",".join(SECTIONS) + " (the machine line is "
                        "always collected; the GEMM peak is measured whenever any section runs); default: all")
    p.add_argument("--threads", type=_parse_threads, default=None,
                   help="comma-separated thread counts (default: 1 and the CPUs usable)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs and models (default: 0)")
    p.add_argument("--repeats", type=_positive_int, default=None, help="the number of timed rounds (default: 7, or 3 with --quick)")
    p.add_argument("--models", default=None,
                   help="comma-separated e2e models among " + ",".join(zoo.MODELS) + ", each optionally with "
                        ":optimizer for another optimizer at its Keras default learning rate (cnn:adam) "
                        "(default: all, and cnn:adam); the infer section takes each model once, whatever "
                        "its optimizer")
    p.add_argument("--batch", type=_parse_batches, default=None,
                   help="comma-separated training batch sizes of the e2e section, each model measured at "
                        "each (32 is Keras's default) (default: each model's cnet-train batch, or the batch "
                        "of --quick/--smoke)")
    p.add_argument("--no-torch", action="store_true", help="leave PyTorch out even when importable (default: include it when importable)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocess (default: measure it)")
    p.add_argument("--json", default=None,
                   help="where to write every raw figure (default benchmarks/results/<timestamp>.json "
                        "relative to the current directory)")
    p.add_argument("--plot", default=None, help="PNG chart of the speedups (needs matplotlib; default: no chart)")
    p.add_argument("--distributed", action="store_true",
                   help="instead of the suite: data-parallel training (cnet.distributed) of the Keras convnet "
                        "(or the first of --models), 1 process x 1 thread against 2 processes x 1 thread over "
                        "shared memory and over TCP on loopback, and the deterministic mode (needs the mpi "
                        "extra); default: off")
    p.add_argument("--step-times", metavar="TXT", default=None,
                   help="with --distributed: take each model's one-machine step (2 threads) for the cluster "
                        "projection from an earlier run's text output (benchmarks/latest-full.txt) instead of "
                        "measuring it; default: measure")
    p.add_argument("--report", metavar="JSON", default=None,
                   help="print README-ready Markdown tables from an earlier run's JSON and exit (measures nothing)")
    return p


def main(argv=None, prog="cnet-bench"):
    """The command: parse `argv` (default sys.argv[1:]), run the suite, return the exit code (errors a user
    can fix: one line on stderr, exit code 2; see cnet._command)."""
    return run(lambda a: _main(a, prog), argv, prog)


def _report(path):
    with open(path) as f:
        try:
            res = json.load(f)
        except ValueError as exc:
            raise UserError(f"--report: {path} is not a JSON file ({exc})") from None
    try:
        argv_run = " ".join(["python -m benchmarks"] + res["meta"]["argv"])
        return markdown_report(res, argv_run)
    except (KeyError, TypeError, IndexError) as exc:
        raise UserError(f"--report: {path} is not a results file of cnet-bench (no {exc})") from None


def _distributed(args, argv, stamp, json_path, started):
    from .distributed import run_distributed
    out = Suite.out
    load = loadavg()
    out(None, f"cnet-bench --distributed: 1-min load average {load[0]:.2f} on {cnet.cpu_count()} CPUs"
        if load else "cnet-bench --distributed")
    if load is not None and load[0] > 0.5 * cnet.cpu_count():
        out(None, "WARNING: the machine is busy: the figures are provisional")
    results = run_distributed(args, lambda *a: out(None, *a))
    results["meta"] = {"argv": sys.argv[1:] if argv is None else list(argv), "started": stamp, "seed": args.seed,
                       "loadavg_start": load, "loadavg_end": loadavg(), "duration_s": time.time() - started}
    os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
    text = json.dumps(results, indent=1)
    atomic_write(json_path, lambda f: f.write(text.encode("utf-8")))
    out(None, f"wrote {json_path}; done in {time.time() - started:.1f} s")
    return 0


def _main(argv, prog):
    args = build_parser(prog).parse_args(argv)
    if args.report:
        print(_report(args.report), end="")
        return 0
    if args.threads is None:
        args.threads = sorted({1, cnet.cpu_count()})
    started = time.time()
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    json_path = args.json or os.path.join("benchmarks", "results", f"{stamp}.json")
    if args.batch and (args.distributed or "e2e" not in args.only):
        raise UserError("--batch sets the e2e section's training batch: it needs the e2e section in --only "
                        "and does not apply to --distributed (which trains at the model's cnet-train batch)")
    if args.distributed:
        return _distributed(args, argv, stamp, json_path, started)
    suite = Suite(args)
    suite.results["meta"] = {
        "argv": sys.argv[1:] if argv is None else list(argv), "mode": suite.mode["name"],
        "seed": args.seed, "threads": args.threads, "sections": args.only, "started": stamp,
        "timing": {k: suite.mode[k] for k in ("warmup", "rounds", "per_round", "settle", "min_time",
                                               "e2e_rounds", "e2e_per_round", "e2e_warmup")},
    }
    previous_backend = ops.get_backend()
    load = loadavg()
    suite.results["meta"]["loadavg_start"] = load
    try:
        suite.out(f"cnet-bench: mode {suite.mode['name']}, threads {args.threads}, sections {','.join(args.only)}, "
                  f"seed {args.seed}")
        if load is not None and load[0] > 0.5 * cnet.cpu_count():
            suite.out(f"WARNING: the machine is busy (1-min load average {load[0]:.2f} on {cnet.cpu_count()} CPUs): "
                      "figures, especially multi-threaded ones, will be noisy and pessimistic")
        suite.run_machine()
        suite.results["meta"]["section_s"] = {"machine": time.time() - started}
        for section in SECTIONS[1:]:
            if section in args.only:
                t0 = time.time()
                if section == "infer":   # not a Suite method: cnet/bench/infer.py
                    run_infer(suite)
                else:
                    getattr(suite, f"run_{section}")()
                suite.results["meta"]["section_s"][section] = time.time() - t0
    finally:
        ops.set_backend(previous_backend)
        suite.ctl.restore()
        suite.results["meta"]["loadavg_end"] = loadavg()
        suite.results["meta"]["duration_s"] = time.time() - started
        suite.write_json(json_path)
    if args.plot:
        suite.plot(args.plot)
    suite.out(f"done in {time.time() - started:.1f} s")
    return 0
