"""The Python package against the command line, on the bundled samples:
the same plans, the same bytes, the same reports, the same errors.

ONNX_REINIT_CLI names the onnx-reinit binary to compare with (the build's);
the library is the one onnx_reinit loads (ONNX_REINIT_LIBRARY, or where
cmake installed it)."""

import glob
import json
import os
import subprocess
import warnings

import pytest

import onnx_reinit

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(os.path.dirname(os.path.dirname(HERE)), "samples")
CLI = os.environ.get("ONNX_REINIT_CLI", "onnx-reinit")
MODELS = sorted(glob.glob(os.path.join(SAMPLES, "*.onnx")))
BAD_MLP = os.path.join(SAMPLES, "deep_mlp_bad_init.onnx")
EXTERNAL = os.path.join(SAMPLES, "external", "cnn_bn_relu.onnx")


def cli(*args, check=True):
    r = subprocess.run([CLI, *args], capture_output=True)
    if check and r.returncode not in (0, 1):
        raise AssertionError(r.stderr.decode())
    return r


def cli_json(*args):
    return json.loads(cli(*args, "--json").stdout)


def cli_apply(path, out, *args):
    r = cli("apply", path, "-o", str(out), *args)
    assert r.returncode == 0, r.stderr.decode()
    with open(out, "rb") as f:
        return f.read()


def ids(paths):
    return [os.path.basename(p) for p in paths]


def test_samples_found():
    assert len(MODELS) >= 10


@pytest.mark.parametrize("path", MODELS + [EXTERNAL], ids=ids(MODELS + [EXTERNAL]))
def test_plan_is_the_cli_plan(path):
    tensors = onnx_reinit.plan(path)
    expected = cli_json("plan", path)["tensors"]
    assert tensors == expected
    assert [t["scheme"] for t in tensors] == [t["scheme"] for t in expected]
    assert len(tensors) > 0


@pytest.mark.parametrize("path", MODELS, ids=ids(MODELS))
def test_apply_model_proto_is_the_cli_bytes(path, tmp_path):
    onnx = pytest.importorskip("onnx")
    out = onnx_reinit.apply(onnx.load(path), seed=7)
    assert isinstance(out, onnx.ModelProto)
    expected = cli_apply(path, tmp_path / "cli.onnx", "--seed", "7")
    assert out.SerializeToString() == expected
    # and the output differs from the input where the plan rewrites
    assert expected != open(path, "rb").read()


@pytest.mark.parametrize("path", MODELS, ids=ids(MODELS))
def test_apply_path_and_bytes_are_the_cli_bytes(path, tmp_path):
    expected = cli_apply(path, tmp_path / "cli.onnx", "--seed", "11")
    assert onnx_reinit.apply(path, seed=11) == expected
    with open(path, "rb") as f:
        assert onnx_reinit.apply(f.read(), seed=11) == expected
    # a file only when output is given
    before = set(os.listdir(tmp_path))
    onnx_reinit.apply(path, seed=11)
    assert set(os.listdir(tmp_path)) == before
    got = onnx_reinit.apply(path, seed=11, output=tmp_path / "py.onnx")
    assert got == expected == (tmp_path / "py.onnx").read_bytes()


def test_seeds_differ():
    path = os.path.join(SAMPLES, "mlp_tanh.onnx")
    assert onnx_reinit.apply(path, seed=1) != onnx_reinit.apply(path, seed=2)


def test_apply_external_data_writes_beside_output(tmp_path):
    out = tmp_path / "py" / "model.onnx"
    out.parent.mkdir()
    onnx_reinit.apply(EXTERNAL, seed=3, output=out)
    cli_out = tmp_path / "cli" / "model.onnx"
    cli_out.parent.mkdir()
    cli_apply(EXTERNAL, cli_out, "--seed", "3")
    assert sorted(os.listdir(out.parent)) == sorted(os.listdir(cli_out.parent))
    for name in os.listdir(out.parent):
        assert (out.parent / name).read_bytes() == (cli_out.parent / name).read_bytes()
    # in memory, external tensors re-initialized cannot be returned
    with pytest.raises(onnx_reinit.Error) as e:
        onnx_reinit.apply(EXTERNAL, seed=3)
    assert "external" in str(e.value)


def test_apply_only_flagged_is_the_cli(tmp_path):
    expected = cli_apply(BAD_MLP, tmp_path / "cli.onnx", "--seed", "5",
                         "--only-flagged")
    assert onnx_reinit.apply(BAD_MLP, seed=5, only_flagged=True) == expected
    assert onnx_reinit.apply(BAD_MLP, seed=5) != expected


def test_check_bad_mlp_lists_its_findings():
    report = onnx_reinit.check(BAD_MLP)
    expected = cli_json("check", BAD_MLP)
    assert report == expected
    assert cli("check", BAD_MLP).returncode == 1
    names = {f["name"] for f in report["findings"]}
    assert len(names) >= 5
    assert all(f["problem"] in ("vanishing", "exploding", "zeros", "constant",
                                "nan") for f in report["findings"])


@pytest.mark.parametrize("path", MODELS, ids=ids(MODELS))
def test_check_and_info_are_the_cli(path):
    assert onnx_reinit.check(path) == cli_json("check", path)
    assert onnx_reinit.info(path) == cli_json("info", path)


def test_check_after_apply_is_clean():
    fixed = onnx_reinit.apply(BAD_MLP, seed=0)
    assert onnx_reinit.check(fixed)["findings"] == []
    # thresholds reach the library: loose ones leave only the zeros,
    # which no threshold excuses
    loose = onnx_reinit.check(BAD_MLP, vanishing=1e-9, exploding=1e9,
                              signal=1e-300)["findings"]
    assert {f["problem"] for f in loose} == {"zeros"}
    assert len(onnx_reinit.check(BAD_MLP)["findings"]) > len(loose)


def test_not_a_model_raises_with_the_cli_message(tmp_path):
    with pytest.raises(onnx_reinit.Error) as e:
        onnx_reinit.plan(b"not a model")
    assert e.value.code == -1
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    r = cli("plan", str(bad), check=False)
    assert r.returncode == 2
    assert r.stderr.decode().strip() == f"onnx-reinit: {bad}: {e.value}"
    with pytest.raises(onnx_reinit.Error) as e:
        onnx_reinit.info(str(tmp_path / "missing.onnx"))
    assert e.value.code == -3 and "cannot open" in str(e.value)
    with pytest.raises(onnx_reinit.Error):
        onnx_reinit.plan(12)


def test_rules_as_text_and_as_file(tmp_path):
    path = os.path.join(SAMPLES, "cnn_bn_relu.onnx")
    text = "# all Conv weights He-uniform\nop=Conv role=weight => he_uniform\n"
    rules = tmp_path / "user.rules"
    rules.write_text(text)
    by_text = onnx_reinit.plan(path, rules=text)
    by_file = onnx_reinit.plan(path, rules=str(rules))
    by_pathlike = onnx_reinit.plan(path, rules=rules)
    expected = cli_json("plan", path, "--rules", str(rules))["tensors"]
    assert by_file == by_pathlike == expected
    schemes = [t["scheme"] for t in by_text]
    assert schemes == [t["scheme"] for t in expected]
    assert "he_uniform" in schemes
    assert schemes != [t["scheme"] for t in onnx_reinit.plan(path)]
    out = tmp_path / "cli.onnx"
    assert onnx_reinit.apply(path, seed=2, rules=text) == cli_apply(
        path, out, "--seed", "2", "--rules", str(rules))


def test_bad_rules_raise_with_position(tmp_path):
    with pytest.raises(onnx_reinit.Error) as e:
        onnx_reinit.plan(BAD_MLP, rules="op=Conv => he_unifrm\n")
    assert str(e.value) == "<rules>:1:12: unknown scheme 'he_unifrm'"
    with pytest.raises(onnx_reinit.Error) as e:
        onnx_reinit.plan(BAD_MLP, rules=str(tmp_path / "none.rules"))
    assert "cannot open" in str(e.value)


def test_strict_and_leftover_warning():
    path = os.path.join(SAMPLES, "mlp_tanh.onnx")
    # no leftovers in the sample: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        onnx_reinit.apply(path)
    # a graph whose tensor nothing claims: a warning, or Error when strict
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    import numpy as np
    rng = np.random.default_rng(5)
    w, table = (numpy_helper.from_array(
        rng.normal(0.3, 1, (8, 8)).astype(np.float32), n) for n in ("W", "table"))
    g = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W"], ["h"]),
         helper.make_node("Mystery", ["h", "table"], ["y"], domain="com.example")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])], [w, table])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                            helper.make_opsetid("com.example", 1)])
    with pytest.warns(UserWarning, match="table"):
        onnx_reinit.apply(m)
    with pytest.raises(onnx_reinit.Error, match="table"):
        onnx_reinit.apply(m, strict=True)


def test_bad_seed():
    with pytest.raises(onnx_reinit.Error):
        onnx_reinit.apply(BAD_MLP, seed=-1)
    with pytest.raises(onnx_reinit.Error):
        onnx_reinit.apply(BAD_MLP, seed=2**64)


def test_library_path_from_environment(tmp_path):
    env = dict(os.environ, ONNX_REINIT_LIBRARY=str(tmp_path / "nothing.so"))
    r = subprocess.run([os.sys.executable, "-c", "import onnx_reinit"],
                       capture_output=True, env=env)
    assert r.returncode != 0
    assert b"cannot load the onnx-reinit library" in r.stderr


@pytest.mark.parametrize("profile", ["pytorch", "keras", "transformers"])
@pytest.mark.parametrize("path", MODELS, ids=ids(MODELS))
def test_profiles_plan_and_apply_as_the_cli(path, profile, tmp_path):
    assert onnx_reinit.plan(path, profile=profile) == \
        cli_json("plan", path, "--profile", profile)["tensors"]
    out = tmp_path / "cli.onnx"
    assert onnx_reinit.apply(path, seed=3, profile=profile) == \
        cli_apply(path, out, "--seed", "3", "--profile", profile)


def test_unknown_profile_raises_as_the_cli_refuses():
    with pytest.raises(onnx_reinit.Error) as e:
        onnx_reinit.plan(BAD_MLP, profile="nope")
    assert "unknown profile 'nope'" in str(e.value)
    r = cli("plan", BAD_MLP, "--profile", "nope", check=False)
    assert r.returncode == 2 and b"unknown profile 'nope'" in r.stderr


def test_bytes_with_external_data_raise_before_reading():
    with open(EXTERNAL, "rb") as f:
        data = f.read()
    for call_it in (onnx_reinit.plan, onnx_reinit.check, onnx_reinit.info):
        with pytest.raises(onnx_reinit.Error) as e:
            call_it(data)
        assert "external data needs the model's folder" in str(e.value)
