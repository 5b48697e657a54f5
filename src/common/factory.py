"""Building things named in params.yaml: the one lookup, argument check and error wording that every
"by name" family uses (losses, optimizers, schedulers, samplers, transforms, detectors, TTA views,
head kinds, torchensemble methods, tune space kinds)."""
import difflib
import inspect


def pick(key: str, registry, name, what: str):
    """registry[name] (or name itself when registry is a list/tuple/set of names). An unknown name fails
    naming the params key, what it is, close matches when the registry is long, and the valid names."""
    if name not in registry:
        names = sorted(map(str, registry))
        by_lower = {n.lower(): n for n in names}  # 'adamw' is closest to 'AdamW', whatever the case
        close = [by_lower[n] for n in difflib.get_close_matches(str(name).lower(), by_lower, n=5, cutoff=0.5)
                 ] if len(names) > 8 else []
        hint = f"; close matches: {close}" if close else ""
        raise ValueError(f"{key}: unknown {what} {name!r}{hint}; valid: {names}")
    return registry[name] if isinstance(registry, dict) else name


def split_spec(key: str, spec) -> tuple:
    """{"name": ..., **arguments} -> (name, arguments); the spec itself is left as it was."""
    if not isinstance(spec, dict) or "name" not in spec:
        raise ValueError(f"{key}: expected a mapping with a 'name' key, got {spec!r}")
    arguments = dict(spec)
    return arguments.pop("name"), arguments


def accepted_arguments(builder, skip=()) -> list:
    """The keyword arguments `builder` (a class or function) accepts, without self/*args/**kwargs and `skip`."""
    return [name for name, p in inspect.signature(builder).parameters.items()
            if name != "self" and name not in skip and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def check_arguments(key: str, name: str, given, accepted) -> None:
    """Every key of `given` is one of `accepted`, else an error naming the params key and the valid ones."""
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise ValueError(f"{key}: {name} does not accept argument(s) {unknown}; accepted: {list(accepted)}")
