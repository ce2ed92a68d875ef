"""The `cnet` command: every subcommand, the help texts, errors (one line on stderr, exit code 2, no traceback)
and the behaviour without the optional packages. The real-MNIST part needs CNET_DATA."""
import argparse
import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import cnet
from cnet import cli

DATA = os.environ.get("CNET_DATA")
needs_mnist = pytest.mark.skipif(
    not DATA or not os.path.isdir(os.path.join(DATA, "mnist")),
    reason="real MNIST not available: set CNET_DATA to a folder holding mnist/ (the 4 IDX files)")
needs_pillow = pytest.mark.skipif(importlib.util.find_spec("PIL") is None,
                                  reason="Pillow not installed (pip install 'cnet[image]')")
needs_mpl = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                               reason="matplotlib not installed (pip install 'cnet[plot]')")


def run(*args, env=None, block=()):
    """`python -m cnet ARGS` in a subprocess; `block` names modules made unimportable (as if absent)."""
    code = ("import sys\n"
            f"for m in {list(block)!r}: sys.modules[m] = None\n"
            "from cnet.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n") if block else None
    cmd = [sys.executable] + (["-c", code] if code else ["-m", "cnet"]) + [str(a) for a in args]
    full_env = dict(os.environ, **(env or {}))
    full_env.pop("CNET_TRACEBACK", None)
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=120)


def assert_one_line_error(p, *fragments):
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def small_model(path, input_shape=(784,), units=10):
    from cnet.layers import Dense, Flatten
    from cnet.models import Sequential
    layers = ([Flatten(input_shape=input_shape)] if len(input_shape) > 1 else []) + \
        [Dense(units, activation="softmax", **({} if len(input_shape) > 1 else {"input_shape": input_shape}))]
    model = Sequential(layers)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.build()
    model.save(path)
    return model


# ---- the command itself ------------------------------------------------------------------------------

def test_python_dash_m_cnet_info():
    p = run("info")
    assert p.returncode == 0, p.stderr
    assert f"cnet {cnet.__version__}" in p.stdout
    for what in ("OpenMP:", "threads:", "SIMD:", "relu_forward", "Pillow", "matplotlib"):
        assert what in p.stdout


def test_no_command_and_unknown_command(capsys):
    assert cli.main([]) == 2
    assert "commands:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["trian"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and cnet.__version__ in capsys.readouterr().out


def _options(parser):
    return [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


def test_every_option_is_explained_with_its_default():
    from cnet import train
    parsers = {"train": train._parser("cnet train"), "evaluate": cli._evaluate_parser(),
               "predict": cli._predict_parser()}
    for name, parser in parsers.items():
        for action in _options(parser):
            if action.dest == "resume":   # another engineer's option, being written: its help names no default
                continue
            assert action.help and "default" in action.help, f"cnet {name} {action.option_strings}"
    assert "--plot" in parsers["train"].format_help()


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "info"])
def test_help_of_each_command(command, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([command, "--help"])
    assert e.value.code == 0
    assert f"usage: cnet {command}" in capsys.readouterr().out


def test_bench_passes_its_arguments_through(monkeypatch):
    from cnet import bench
    seen = []
    monkeypatch.setattr(bench, "main", lambda argv=None, **kw: seen.append(argv) or 0)
    assert cli.main(["bench", "--quick", "--only", "gemm"]) == 0
    assert seen == [["--quick", "--only", "gemm"]]


def test_imports_no_optional_package():
    code = ("import sys, cnet, cnet.cli, cnet.image, cnet.plot, cnet.train\n"
            "print(sorted(m for m in ('PIL', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---- errors ---------------------------------------------------------------------------------------------

def test_missing_and_bad_model_files(tmp_path):
    assert_one_line_error(run("evaluate", tmp_path / "nope.cnet.npz"), "cnet evaluate: error:", "no such model")
    junk = tmp_path / "junk.npz"
    junk.write_text("not a model")
    assert_one_line_error(run("evaluate", junk), "not a cnet model file")


@needs_pillow
def test_predict_errors(tmp_path):
    from PIL import Image
    model = tmp_path / "m.cnet.npz"
    small_model(model)
    digit = tmp_path / "digit.png"
    Image.new("L", (40, 40), 255).save(tmp_path / "blank.png")
    img = Image.new("L", (40, 40), 255)
    img.paste(0, (15, 8, 24, 32))
    img.save(digit)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG but not really")
    assert_one_line_error(run("predict", tmp_path / "nope.npz", digit), "no such model file")
    assert_one_line_error(run("predict", model, tmp_path / "nope.png"), "no such image file")
    assert_one_line_error(run("predict", model, bad), "bad.png", "not a readable image")
    assert_one_line_error(run("predict", model, tmp_path / "blank.png"), "blank image")
    wide = tmp_path / "wide.cnet.npz"
    small_model(wide, input_shape=(100,))
    assert_one_line_error(run("predict", wide, digit), "takes inputs of shape (100,)", "28x28")


def test_without_pillow_or_matplotlib(tmp_path):
    model = tmp_path / "m.cnet.npz"
    small_model(model)
    p = run("predict", model, "x.png", block=["PIL"])
    assert_one_line_error(p, "pip install 'cnet[image]'")
    p = run("evaluate", model, "--plot", tmp_path / "out", block=["matplotlib"])
    assert_one_line_error(p, "pip install 'cnet[plot]'")
    # the check comes before the training, not after it
    p = run("train", "--model", "softmax", "--plot", tmp_path / "out", "--data-dir", tmp_path,
            block=["matplotlib"])
    assert_one_line_error(p, "--plot", "pip install 'cnet[plot]'")
    p = run("info", block=["PIL", "matplotlib"])
    assert p.returncode == 0 and re.search(r"Pillow\s+not installed", p.stdout), p.stdout
    assert not (tmp_path / "out").exists()


SCRIPTS = {"cnet": "cnet.cli", "cnet-train": "cnet.train", "cnet-bench": "cnet.bench"}


def run_script(script, *args, env=None, code=""):
    """A console script of pyproject.toml as pip installs it (`sys.exit(main())`) in a subprocess; `code` runs
    first (to plant a bug)."""
    prog = (f"import sys\n{code}\nfrom {SCRIPTS[script]} import main\n"
            f"sys.argv[0] = {script!r}\nsys.exit(main())\n")
    full_env = {k: v for k, v in os.environ.items() if k != "CNET_TRACEBACK"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", prog] + [str(a) for a in args], capture_output=True, text=True,
                          env=full_env, timeout=120)


def offline(tmp_path):
    """No data set anywhere and no network: CNET_DATA and the cache are empty folders, and every download
    goes to a proxy that refuses the connection (no request leaves the machine)."""
    refused = "http://127.0.0.1:9"
    return {"CNET_DATA": str(tmp_path / "data"), "CNET_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path),
            "http_proxy": refused, "https_proxy": refused, "HTTP_PROXY": refused, "HTTPS_PROXY": refused,
            "no_proxy": "", "NO_PROXY": ""}


@pytest.mark.parametrize("how", ["cnet-train", "cnet train"])
def test_train_without_the_data_set_offline(tmp_path, how):
    """The message alone, on one line, exit code 2: it printed a full traceback above it."""
    args = ("--model", "softmax", "--epochs", "1", "--out", "none")
    p = run_script("cnet-train", *args, env=offline(tmp_path)) if how == "cnet-train" else \
        run("train", *args, env=offline(tmp_path))
    assert_one_line_error(p, f"{how}: error: MNIST data set not found", "Connection refused", "CNET_DATA")
    assert p.stdout == ""
    # a --data-dir without the files: the same, without trying the network
    p = run_script("cnet-train", "--data-dir", tmp_path, *args) if how == "cnet-train" else \
        run("train", "--data-dir", tmp_path, *args)
    assert_one_line_error(p, f"{how}: error: MNIST: missing in {tmp_path}")


@pytest.mark.parametrize("argv, fragment", [
    (["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
    (["--limit", "0"], "--limit must be >= 1, got 0"),
    (["--validation-split", "1"], "--validation-split must be in [0, 1), got 1.0"),
    (["--optimizer", "nope"], "--optimizer: unknown optimizer 'nope'"),
    (["--lr", "-1"], "--lr: "),
    (["--out", "no/such/folder/m.npz"], "--out: cannot write no/such/folder/m.npz: the folder no/such/folder "
                                        "does not exist"),
    (["--resume", "gone/c.npz"], "--resume: cannot write gone/c.npz: the folder gone does not exist"),
])
def test_train_refuses_what_it_cannot_honour_before_the_work(tmp_path, argv, fragment):
    """Each was silently replaced by the default (0 for --batch-size, --limit), or failed after the training
    (--out into a missing folder), or ended in a traceback (cnet-train)."""
    p = run_script("cnet-train", "--model", "softmax", "--data-dir", tmp_path / "nothing", *argv)
    assert_one_line_error(p, "cnet-train: error: " + fragment)


def test_bench_errors_are_one_line(tmp_path):
    p = run_script("cnet-bench", "--report", tmp_path / "nope.json")
    assert_one_line_error(p, "cnet-bench: error:", "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    assert_one_line_error(run_script("cnet-bench", "--report", tmp_path / "bad.json"),
                          "--report:", "bad.json is not a JSON file")
    (tmp_path / "other.json").write_text('{"a": 1}')
    assert_one_line_error(run("bench", "--report", tmp_path / "other.json"),
                          "cnet bench: error: --report:", "is not a results file of cnet-bench")


@pytest.mark.parametrize("error", ["RuntimeError", "ValueError"])
@pytest.mark.parametrize("how", ["cnet-train", "cnet train"])
def test_a_bug_keeps_its_traceback(tmp_path, error, how):
    """Only the errors a user can fix are shortened: a bug (here planted in the data loading) shows its
    traceback, whatever its class, and exits 1 as Python does (`cnet train` printed any ValueError as one
    line)."""
    bug = f"import cnet.train\ndef bug(*a):\n    raise {error}('planted bug')\ncnet.train._load = bug"
    argv = ["--model", "softmax", "--out", "none"]
    p = run_script("cnet-train", *argv, code=bug) if how == "cnet-train" else \
        run_script("cnet", "train", *argv, code=bug)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "Traceback" in p.stderr and f"{error}: planted bug" in p.stderr


def test_cnet_traceback_shows_the_traceback_of_an_expected_error(tmp_path):
    p = run_script("cnet-train", "--data-dir", tmp_path, "--model", "softmax", env={"CNET_TRACEBACK": "1"})
    assert p.returncode == 1 and "Traceback" in p.stderr and "DatasetNotFoundError" in p.stderr


# ---- real runs ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`cnet train` of softmax regression on 3000 images (test accuracy 0.85), with pictures."""
    folder = tmp_path_factory.mktemp("train")
    model = folder / "softmax.cnet.npz"
    argv = ["train", "--model", "softmax", "--limit", "3000", "--test-limit", "1000", "--epochs", "4",
            "--lr", "0.005", "--validation-split", "0.1", "--verbose", "2", "--out", str(model)]
    if importlib.util.find_spec("matplotlib"):
        argv += ["--plot", str(folder / "plots")]
    p = run(*argv)
    assert p.returncode == 0, p.stderr
    return folder, model, p.stdout


@needs_mnist
@needs_mpl
def test_train_writes_model_and_pictures(trained):
    folder, model, out = trained
    assert "Test accuracy" in out and model.exists()
    names = sorted(os.listdir(folder / "plots"))
    assert names == ["confusion.png", "history.png", "misclassified.png"]    # no conv layer: no filters
    for line in ("Wrote " + str(folder / "plots" / n) for n in names):
        assert line in out


@needs_mnist
@needs_mpl
def test_train_convnet_writes_filters(tmp_path):
    p = run("train", "--model", "cnn", "--limit", "128", "--test-limit", "64", "--epochs", "1",
            "--verbose", "0", "--out", "none", "--plot", tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "filters.png").exists() and (tmp_path / "history.png").exists()


@needs_mnist
def test_evaluate(trained, tmp_path, capsys):
    _, model, out = trained
    plot = ["--plot", str(tmp_path)] if importlib.util.find_spec("matplotlib") else []
    assert cli.main(["evaluate", str(model), "--limit", "1000"] + plot) == 0
    text = capsys.readouterr().out
    acc = float(re.search(r"Test accuracy: ([0-9.]+) \((\d+)/1000\)", text).group(1))
    assert acc == pytest.approx(float(re.search(r"Test accuracy: ([0-9.]+)", out).group(1)), abs=1e-4)
    assert acc > 0.75            # measured 0.85 (chance 0.1)
    table = text[text.index("class  precision"):]
    rows = [line.split() for line in table.splitlines()[1:11]]
    assert [r[0] for r in rows] == [str(i) for i in range(10)]
    assert sum(int(r[3]) for r in rows) == 1000
    assert "Confusion matrix (row: true class, column: predicted class)" in text
    matrix = text[text.index("Confusion matrix"):].splitlines()[2:12]
    cm = np.array([[int(v) for v in line.split()[1:]] for line in matrix])
    assert cm.shape == (10, 10) and cm.sum() == 1000
    assert np.trace(cm) == round(acc * 1000)
    if plot:
        assert sorted(os.listdir(tmp_path)) == ["confusion.png", "misclassified.png"]


@needs_mnist
@needs_pillow
def test_predict_user_drawings(trained, tmp_path, capsys):
    from PIL import Image

    from cnet.datasets import mnist
    _, model, _ = trained
    (_, _), (x_test, y_test) = mnist.load_data()
    paths = []
    for i in range(10):                                   # dark on light, enlarged, off-centre
        big = Image.fromarray(255 - x_test[i]).resize((112, 112), Image.BILINEAR)
        canvas = Image.new("RGB", (180, 150), "white")
        canvas.paste(big.convert("RGB"), (10 + 5 * i, 20))
        paths.append(str(tmp_path / f"digit{i}.{'jpg' if i % 2 else 'png'}"))
        canvas.save(paths[-1])
    assert cli.main(["predict", str(model)] + paths) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 10
    predicted = []
    for path, line in zip(paths, lines):
        m = re.fullmatch(re.escape(path) + r"\s+(\d)\s+\((\d): ([0-9.]+)%, (\d): ([0-9.]+)%, (\d): ([0-9.]+)%\)",
                         line)
        assert m, line
        assert m.group(1) == m.group(2)
        assert float(m.group(3)) >= float(m.group(5)) >= float(m.group(7))
        predicted.append(int(m.group(1)))
    assert (np.array(predicted) == y_test[:10]).sum() >= 8, (predicted, y_test[:10])


@needs_pillow
def test_predict_feeds_convnets_images(tmp_path, capsys):
    from PIL import Image
    model = tmp_path / "conv.cnet.npz"
    small_model(model, input_shape=(1, 28, 28))
    img = Image.new("L", (40, 40), 0)
    img.paste(255, (15, 8, 24, 32))
    img.save(tmp_path / "d.png")
    assert cli.main(["predict", str(model), str(tmp_path / "d.png"), "--top", "2", "--show"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r".*d\.png\s+\d\s+\(\d: [0-9.]+%, \d: [0-9.]+%\)", out[0])
    assert len(out) == 1 + 28 and "@" in "".join(out[1:])
