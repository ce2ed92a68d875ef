"""python -m cnet.book / cnet book / cnet convert: the book's scripts run unchanged on cnet.book."""
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cnet import cli, saving
from cnet.book import _runner

BOOK_COMMON_TRAP = "raise RuntimeError('the book\\'s own common/ was imported')\n"


@pytest.fixture
def book_repo(tmp_path):
    """A tiny stand-in for the book's repository: common/ and dataset/ that must never be imported,
    chapter folders with scripts written the book's way (sys.path.append(os.pardir) then imports)."""
    for package in ("common", "dataset"):
        (tmp_path / package).mkdir()
        for module in ("__init__", "layers", "functions", "mnist", "trainer"):
            (tmp_path / package / f"{module}.py").write_text(BOOK_COMMON_TRAP)
    (tmp_path / "ch05").mkdir()
    (tmp_path / "ch05" / "data.txt").write_text("found beside the script\n")
    (tmp_path / "ch05" / "script.py").write_text(textwrap.dedent("""
        import sys, os
        sys.path.append(os.pardir)
        import numpy as np
        import common.layers
        from common.layers import Affine, Dropout
        from common.functions import softmax
        from common.optimizer import *
        from dataset.mnist import load_mnist
        from helper import double
        print(common.layers.__name__, Affine.__module__, softmax.__module__, load_mnist.__module__)
        print(open("data.txt").read().strip())
        print("args", sys.argv[1:])
        print("draw", np.random.rand())
        print("double", double(21))
        print("dropout", Dropout(0.25).dropout_ratio, SGD().lr)
    """))
    (tmp_path / "ch05" / "helper.py").write_text("from common.util import conv_output_size\n"
                                                 "def double(x):\n    return 2 * x\n")
    return tmp_path


def test_a_script_runs_with_common_and_dataset_served_by_cnet_book(book_repo, capsys):
    script = book_repo / "ch05" / "script.py"
    assert _runner.main(["--seed", "3", str(script), "a", "--b"]) == 0
    out = capsys.readouterr().out.splitlines()
    np.random.seed(3)
    assert out == ["cnet.book.common.layers cnet.book.common.layers cnet.book.common.functions "
                   "cnet.book.dataset.mnist",
                   "found beside the script", "args ['a', '--b']", f"draw {np.random.rand()}", "double 42",
                   "dropout 0.25 0.01"]
    assert os.getcwd() != str(book_repo / "ch05")                 # restored afterwards
    assert "common" not in sys.modules and "helper" not in sys.modules
    assert not any(isinstance(f, _runner.BookImportHook) for f in sys.meta_path)


def test_an_unknown_module_of_common_is_not_found_and_errors_show_the_scripts_traceback(book_repo, capsys):
    script = book_repo / "ch05" / "missing.py"
    script.write_text("import sys, os\nsys.path.append(os.pardir)\nfrom common.nothing import x\n")
    assert _runner.main([str(script)]) == 1
    err = capsys.readouterr().err
    assert "ModuleNotFoundError" in err and "common.nothing" in err and "book's own common" not in err
    assert _runner.main([str(book_repo / "ch05" / "absent.py")]) == 2
    assert "no such script" in capsys.readouterr().err
    script.write_text("import sys\nsys.exit(3)\n")
    assert _runner.main([str(script)]) == 3


def test_chapter_nets_from_cnet_book_on_request(book_repo, capsys):
    chapter = book_repo / "ch07"
    chapter.mkdir()
    (chapter / "simple_convnet.py").write_text("raise RuntimeError('the book\\'s simple_convnet.py')\n")
    (chapter / "script.py").write_text("from simple_convnet import SimpleConvNet\nprint(SimpleConvNet.__module__)\n")
    assert _runner.main(["--cnet-nets", str(chapter / "script.py")]) == 0
    assert capsys.readouterr().out.strip() == "cnet.book.ch07.simple_convnet"
    assert _runner.main([str(chapter / "script.py")]) == 1           # by default the file beside it
    assert "the book's simple_convnet.py" in capsys.readouterr().err


def test_the_scripts_pickle_load_goes_through_the_allow_list(book_repo, capsys, tmp_path):
    target = tmp_path / "should_not_exist"
    script = book_repo / "ch05" / "unpickle.py"
    script.write_text(textwrap.dedent(f"""
        import collections, pickle
        import numpy as np
        with open("weights.pkl", "wb") as f:
            pickle.dump({{"W1": np.arange(3.0)}}, f)
        with open("weights.pkl", "rb") as f:
            print("weights", pickle.load(f)["W1"].tolist())
        class Evil:
            def __reduce__(self):
                return open, ({str(target)!r}, "w")
        print("ordered", type(pickle.loads(pickle.dumps(collections.OrderedDict(a=1)))).__name__)
        pickle.loads(pickle.dumps(Evil()))
    """))
    assert _runner.main([str(script)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "weights [0.0, 1.0, 2.0]"
    assert "collections.OrderedDict" in captured.err and not target.exists()
    assert pickle.load is not None and pickle.loads(pickle.dumps({1})) == {1}      # restored afterwards
    script.write_text("import collections, pickle\n"
                      "print(type(pickle.loads(pickle.dumps(collections.OrderedDict(a=1)))).__name__)\n")
    assert _runner.main(["--trust-pickles", str(script)]) == 0
    assert capsys.readouterr().out.strip() == "OrderedDict"


def test_python_dash_m_and_cnet_book(book_repo):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    script = book_repo / "ch05" / "script.py"
    run = subprocess.run([sys.executable, "-m", "cnet.book", "--seed", "3", str(script)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[1] == "found beside the script"
    assert cli.main(["book", "--seed", "3", str(script)]) == 0


def test_cnet_convert(tmp_path, capsys):
    src, dst = tmp_path / "params.pkl", tmp_path / "params.cnet.npz"
    params = {"W1": np.ones((2, 3)), "b1": np.zeros(3, np.float32)}
    src.write_bytes(pickle.dumps(params))
    assert cli.main(["convert", str(src), str(dst), "--network", "SimpleConvNet"]) == 0
    assert "2 arrays (W1, b1), 9 numbers" in capsys.readouterr().out
    loaded = saving.load_params(dst)
    np.testing.assert_array_equal(loaded["W1"], params["W1"])
    assert loaded["b1"].dtype == np.float32
    src.write_bytes(pickle.dumps({"W1": print}))
    assert cli.main(["convert", str(src), str(tmp_path / "x.npz")]) == cli.EXIT_ERROR
    assert "builtins.print" in capsys.readouterr().err and not (tmp_path / "x.npz").exists()
