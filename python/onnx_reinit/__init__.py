"""onnx-reinit from Python: re-initialize the weights of ONNX models by the
rule for their layer.

Every function takes the model as a path, bytes, or an onnx.ModelProto
(the onnx package is needed only for the last), rules as a path or the
rules' text, and profile the policy's name ("seed", the default; "pytorch",
"keras", "transformers"); user rules come before the profile's, and those
before the default policy, as on the command line. Failures raise onnx_reinit.Error with the library's message and
code.
"""

import ctypes
import json
import os
import warnings

from ._lib import Error, call, check_options, lib, take_string

__all__ = ["Error", "plan", "apply", "check", "info", "__version__"]
__version__ = "0.2.0"


def _is_model_proto(model):
    return type(model).__name__ == "ModelProto" and hasattr(
        model, "SerializeToString")


def _model_input(model):
    """(path or None, bytes or None, the name reports give it)."""
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        return path, None, path
    if isinstance(model, (bytes, bytearray, memoryview)):
        return None, bytes(model), "<bytes>"
    if _is_model_proto(model):
        return None, model.SerializeToString(), "<ModelProto>"
    raise Error("model: expected a path, bytes or an onnx.ModelProto, not "
                + type(model).__name__)


def _rules_input(rules):
    """Rules as ("file", path) or ("text", str), or None."""
    if rules is None:
        return None
    if isinstance(rules, os.PathLike):
        return "file", os.fspath(rules)
    if isinstance(rules, str):
        # text has a rule's arrow, a comment or several lines; else a path
        if "=>" in rules or "#" in rules or "\n" in rules:
            return "text", rules
        return "file", rules
    raise Error("rules: expected a path or the rules' text, not "
                + type(rules).__name__)


class _Session:
    """One model opened with its rules and plan; everything freed on exit."""

    def __init__(self, model, rules, with_plan=True, profile=None):
        self.with_plan = with_plan
        self.profile = profile
        self.path, self.data, self.name = _model_input(model)
        self.rules_spec = _rules_input(rules)
        self.model = ctypes.c_void_p()
        self.rules = ctypes.c_void_p()
        self.plan = ctypes.c_void_p()
        self.check = ctypes.c_void_p()

    def __enter__(self):
        try:
            self._open()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _open(self):
        # the rules first, as on the command line: a bad rules file is
        # reported before the model is read
        if self.with_plan:
            self._load_rules()
        if self.path is not None:
            call("orx_model_open_file", ctypes.byref(self.model),
                 os.fsencode(self.path), None)
        else:
            call("orx_model_open_buffer", ctypes.byref(self.model),
                 self.data, len(self.data), None)
        if self.with_plan:
            call("orx_plan_build", ctypes.byref(self.plan), self.model,
                 self.rules)

    def _load_rules(self):
        call("orx_rules_new", ctypes.byref(self.rules))
        if self.rules_spec and self.rules_spec[0] == "file":
            call("orx_rules_add_file", self.rules,
                 os.fsencode(self.rules_spec[1]))
        elif self.rules_spec:
            text = self.rules_spec[1].encode("utf-8")
            call("orx_rules_add_text", self.rules, text, len(text),
                 b"<rules>")
        call("orx_rules_add_profile", self.rules,
             None if self.profile is None else self.profile.encode("utf-8"))

    def run_check(self, vanishing=None, exploding=None, signal=None,
                  run=False):
        self.options = check_options(vanishing=vanishing,
                                     exploding=exploding, signal=signal)
        call("orx_check_run", ctypes.byref(self.check), self.model,
             self.plan, ctypes.byref(self.options))
        if run:
            call("orx_check_measure", self.check, self.model,
                 ctypes.byref(self.options))

    def leftovers(self):
        """Names of the float tensors that keep trained values with no
        keep rule naming them."""
        names = []
        values = ctypes.c_uint64()
        for i in range(lib.orx_plan_skipped_count(self.plan)):
            s = lib.orx_plan_skipped_at(self.plan, i)
            if lib.orx_plan_skip_is_leftover(self.model, s,
                                             ctypes.byref(values)):
                names.append(s.contents.name.decode("utf-8"))
        return names

    def report(self, function, *args):
        out = ctypes.c_void_p()
        call(function, ctypes.byref(out), *args)
        return json.loads(take_string(out))

    def __exit__(self, *exc):
        lib.orx_check_free(self.check)
        lib.orx_plan_free(self.plan)
        lib.orx_model_free(self.model)
        lib.orx_rules_free(self.rules)
        return False


def plan(model, rules=None, profile=None):
    """What apply would do, changing nothing: one dict per tensor, with the
    fields of `onnx-reinit plan --json`'s "tensors" (name, node, op, role,
    activation, path, scheme, fan_in, fan_out, gain, std, rule, ...)."""
    with _Session(model, rules, profile=profile) as s:
        return s.report("orx_plan_json", s.plan, s.name.encode(), 0)["tensors"]


def skipped(model, rules=None, profile=None):
    """The tensors plan leaves alone, as {"name", "reason"} dicts."""
    with _Session(model, rules, profile=profile) as s:
        return s.report("orx_plan_json", s.plan, s.name.encode(), 0)["skipped"]


def apply(model, seed=0, rules=None, only_flagged=False, output=None,
          strict=False, profile=None):
    """Re-initialize the model as the plan says, every other byte kept.

    Returns an onnx.ModelProto when given one, else the new model's bytes.
    A file is written only when output (a path) is given: then the model,
    and its external data files beside it, as `onnx-reinit apply -o`
    writes them, and the return value is read back from it.
    only_flagged rewrites only the weights check flags (and their biases);
    strict raises Error, writing nothing, when a float tensor would keep
    trained values that no keep rule names (else a warning)."""
    if not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise Error("seed: expected an integer from 0 to 2^64 - 1")
    with _Session(model, rules, profile=profile) as s:
        if only_flagged:
            s.run_check()
            call("orx_plan_restrict", s.plan, s.check)
        left = s.leftovers()
        if left:
            what = (f"{len(left)} float tensor(s) left as trained, no rule "
                    f"keeping them: {', '.join(left[:3])}"
                    + (f" and {len(left) - 3} more" if len(left) > 3 else ""))
            if strict:
                raise Error("strict: " + what, -1)
            warnings.warn(what, stacklevel=2)
        call("orx_plan_apply", s.model, s.plan, seed)
        if output is not None:
            call("orx_model_save_file", s.model, os.fsencode(output))
            with open(output, "rb") as f:
                data = f.read()
        else:
            buf = ctypes.c_void_p()
            size = ctypes.c_size_t()
            call("orx_model_save_buffer", ctypes.byref(buf),
                 ctypes.byref(size), s.model, None)
            try:
                data = ctypes.string_at(buf.value, size.value)
            finally:
                lib.orx_free(buf)
    if _is_model_proto(model):
        out = type(model)()
        out.ParseFromString(data)
        return out
    return data


def check(model, rules=None, vanishing=None, exploding=None, signal=None,
          profile=None, run=False):
    """Badly initialized weights, as `onnx-reinit check --json` reports
    them: {"model", "findings": [...], "signal": {...}}; an empty
    "findings" list when there are none. vanishing, exploding and signal
    are check's thresholds (None: the library's defaults, as the command
    line's). run=True: as `check --run`, the model also run in ONNX
    Runtime (found through $ORX_ONNXRUNTIME or the loader), each layer's
    output measured ("measured"; findings "via": "run")."""
    with _Session(model, rules, profile=profile) as s:
        s.run_check(vanishing, exploding, signal, run)
        return s.report("orx_check_json", s.check, ctypes.byref(s.options),
                        s.name.encode())


def info(model):
    """The model's summary, as `onnx-reinit info --json`."""
    with _Session(model, None, with_plan=False) as s:
        return s.report("orx_model_info_json", s.model, s.name.encode())
