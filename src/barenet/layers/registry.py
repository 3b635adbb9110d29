"""Layer types by name: what a saved model's ``{"type": NAME, "config": {...}}`` refers to.

Every subclass of ``Layer`` is registered under its class name when it is defined, unless
another class already holds that name: then the name stays with the first (barenet's own
layers are defined first, so a user's ``Dense`` never replaces the built-in one) and the newer
class can only be saved once it is registered under a name of its own with
:func:`register_layer`.  A name that two classes of the user's claimed by subclassing alone is
ambiguous, so loading refuses it rather than guess.  Defining the same class again (same
module and name, as a notebook cell re-run does) replaces it.
"""

from __future__ import annotations

from barenet.errors import ConfigError

_BY_NAME: dict[str, type] = {}
_NAME_OF: dict[type, str] = {}
_CLAIMANTS: dict[str, set[str]] = {}  # name -> "module.qualname" of each class that claimed it
_SETTLED: dict[str, str] = {}  # name -> the class registered explicitly or by barenet itself


def _path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register(cls: type, name: str, explicit: bool) -> None:
    path = _path(cls)
    _CLAIMANTS.setdefault(name, set()).add(path)
    settled = _SETTLED.get(name)
    if settled is not None and settled != path:
        if explicit:
            raise ConfigError(f"the layer name {name!r} is taken by {settled}; register "
                              f"{cls.__qualname__} under another name: @register_layer('My{name}')")
        return  # subclassing alone: the name stays with the class that settled it
    if explicit or cls.__module__.split(".")[0] == "barenet":
        _SETTLED[name] = path
    elif name in _BY_NAME and _path(_BY_NAME[name]) != path:
        return  # the first class to claim a name keeps it (loading calls it ambiguous)
    _NAME_OF.pop(_BY_NAME.get(name), None)
    _BY_NAME[name] = cls
    _NAME_OF[cls] = name


def register_layer(name: str | None = None):
    """Class decorator: make a ``Layer`` subclass loadable under ``name`` (default: its class
    name), refusing a name that another class holds.

        @barenet.register_layer("Swish")
        class MySwish(barenet.Layer): ...
    """

    def decorate(cls: type) -> type:
        from barenet.layers.base import Layer

        if not (isinstance(cls, type) and issubclass(cls, Layer)):
            raise ConfigError(f"register_layer decorates a subclass of barenet.Layer, got {cls!r}")
        key = cls.__name__ if name is None else name
        if not isinstance(key, str) or not key.isidentifier():
            raise ConfigError(f"a layer name is a Python identifier, got {key!r}")
        register(cls, key, explicit=True)
        return cls

    if isinstance(name, type):  # used bare: @register_layer
        cls, name = name, None
        return decorate(cls)
    return decorate


def name_of(layer_class: type) -> str:
    """The name a saved model gives ``layer_class``; a ConfigError if it has none."""
    name = _NAME_OF.get(layer_class)
    if name is None:
        holder = _BY_NAME.get(layer_class.__name__)
        raise ConfigError(
            f"{_path(layer_class)} cannot be saved: its name is taken by {_path(holder)}. "
            "Register it under another "
            f"name with @barenet.register_layer('My{layer_class.__name__}')")
    return name


def lookup(name: str) -> type:
    """The layer class registered as ``name``; a ConfigError that says how to fix it."""
    cls = _BY_NAME.get(name)
    if cls is not None and name not in _SETTLED and len(_CLAIMANTS[name]) > 1:
        raise ConfigError(
            f"the layer type {name!r} is ambiguous: {sorted(_CLAIMANTS[name])} are all named so. "
            f"Register the one the file holds with @barenet.register_layer({name!r})")
    if cls is None:
        raise ConfigError(
            f"unknown layer type {name!r}: import the module that defines it before loading "
            f"(a subclass of barenet.Layer registers itself), or register it with "
            f"@barenet.register_layer({name!r}). Known types: {sorted(_BY_NAME)}")
    return cls


def layer_to_dict(layer) -> dict:
    """``{"type": ..., "config": ...}``: a JSON-ready description of ``layer``."""
    return {"type": name_of(type(layer)), "config": layer.get_config()}


def layer_from_dict(spec):
    """Rebuild a layer from :func:`layer_to_dict`'s output."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ConfigError(f'a layer is described as {{"type": NAME, "config": {{...}}}}, got {spec!r}')
    cls = lookup(spec["type"])
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise ConfigError(f"the config of layer {spec['type']} must be an object, got {config!r}")
    try:
        return cls.from_config(config)
    except TypeError as exc:
        raise ConfigError(f"bad config for layer {spec['type']}: {exc}") from None
