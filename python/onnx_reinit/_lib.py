"""The shared library and the signatures of the functions used here."""

import ctypes
import ctypes.util
import os
import sys

SONAME = "libonnx-reinit.so.1"


class Error(Exception):
    """A failure in onnx-reinit: the library's one-line message and its
    code (ORX_EINVALID -1, ORX_EUNSUPPORTED -2, ORX_EIO -3, ORX_ENOMEM -4;
    0 for a misuse caught in Python)."""

    def __init__(self, message, code=0):
        super().__init__(message)
        self.message = message
        self.code = code


def _candidates():
    env = os.environ.get("ONNX_REINIT_LIBRARY")
    if env:
        return [env]  # only there: a wrong path is an error, not a search
    found = [SONAME]  # the dynamic loader's own search (ldconfig, rpath)
    multiarch = getattr(sys.implementation, "_multiarch", "")
    for prefix in (sys.prefix, "/usr/local", "/usr"):
        for lib in ("lib", "lib64", os.path.join("lib", multiarch)):
            found.append(os.path.join(prefix, lib, SONAME))
    name = ctypes.util.find_library("onnx-reinit")
    if name:
        found.append(name)
    return found


def _load():
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path}: {e}")
    raise Error("cannot load the onnx-reinit library (install it with "
                "cmake --install, or set ONNX_REINIT_LIBRARY): "
                + "; ".join(tried))


class CheckOptions(ctypes.Structure):
    """orx_check_options, version 1."""
    VERSION = 1
    _fields_ = [("version", ctypes.c_uint),
                ("vanishing", ctypes.c_double),
                ("exploding", ctypes.c_double),
                ("signal", ctypes.c_double)]


class PlanSkip(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p),
                ("reason", ctypes.c_char_p),
                ("tensor", ctypes.c_size_t),
                ("kept", ctypes.c_int)]


lib = _load()

_p = ctypes.c_void_p
_pp = ctypes.POINTER(ctypes.c_void_p)
_s = ctypes.c_char_p
_int = ctypes.c_int
_SIGNATURES = {
    "orx_error_last": (_s, []),
    "orx_model_open_file": (_int, [_pp, _s, _p]),
    "orx_model_open_buffer": (_int, [_pp, ctypes.c_char_p, ctypes.c_size_t, _p]),
    "orx_model_save_file": (_int, [_p, _s]),
    "orx_model_save_buffer": (_int, [_pp, ctypes.POINTER(ctypes.c_size_t), _p,
                                     _p]),
    "orx_model_free": (None, [_p]),
    "orx_rules_new": (_int, [_pp]),
    "orx_rules_add_file": (_int, [_p, _s]),
    "orx_rules_add_text": (_int, [_p, ctypes.c_char_p, ctypes.c_size_t, _s]),
    "orx_rules_add_defaults": (_int, [_p]),
    "orx_rules_add_profile": (_int, [_p, ctypes.c_char_p]),
    "orx_rules_free": (None, [_p]),
    "orx_plan_build": (_int, [_pp, _p, _p]),
    "orx_plan_apply": (_int, [_p, _p, ctypes.c_uint64]),
    "orx_plan_restrict": (_int, [_p, _p]),
    "orx_plan_skipped_count": (ctypes.c_size_t, [_p]),
    "orx_plan_skipped_at": (ctypes.POINTER(PlanSkip), [_p, ctypes.c_size_t]),
    "orx_plan_skip_is_leftover": (_int, [_p, ctypes.POINTER(PlanSkip),
                                         ctypes.POINTER(ctypes.c_uint64)]),
    "orx_plan_free": (None, [_p]),
    "orx_check_options_init": (_int, [ctypes.POINTER(CheckOptions),
                                      ctypes.c_uint]),
    "orx_check_run": (_int, [_pp, _p, _p, ctypes.POINTER(CheckOptions)]),
    "orx_check_measure": (_int, [_p, _p, ctypes.POINTER(CheckOptions)]),
    "orx_check_free": (None, [_p]),
    "orx_plan_json": (_int, [_pp, _p, _s, ctypes.c_uint64]),
    "orx_check_json": (_int, [_pp, _p, ctypes.POINTER(CheckOptions), _s]),
    "orx_model_info_json": (_int, [_pp, _p, _s]),
    "orx_free": (None, [_p]),
}
for _name, (_res, _args) in _SIGNATURES.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args


def check_options(**given):
    """orx_check_options: the library's defaults, then the values given
    (None: the default)."""
    opts = CheckOptions()
    call("orx_check_options_init", ctypes.byref(opts), CheckOptions.VERSION)
    for key, value in given.items():
        if value is not None:
            setattr(opts, key, value)
    return opts


def call(name, *args):
    """Call a library function that returns an error code; raise Error on
    failure with the library's message."""
    rc = getattr(lib, name)(*args)
    if rc != 0:
        raise Error(lib.orx_error_last().decode("utf-8", "replace"), rc)
    return rc


def take_string(ptr):
    """The text of a string the library made, freed."""
    try:
        return ctypes.string_at(ptr.value).decode("utf-8")
    finally:
        lib.orx_free(ptr)
