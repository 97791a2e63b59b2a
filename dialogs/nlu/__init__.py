"""Bilingual NLU: normalisation, entity extractors, intent classifier, Rasa parse format."""

from dialogs.nlu.model import NLU, ModelError

__all__ = ["NLU", "ModelError", "load_nlu"]


def load_nlu(settings) -> NLU:  # type: ignore[no-untyped-def]
    """The NLU as configured: model path, fallback threshold, time zone and input limit."""
    return NLU.load(settings.path(settings.nlu.model_path), settings.nlu.fallback_threshold,
                    settings.timezone, settings.nlu.max_chars)
