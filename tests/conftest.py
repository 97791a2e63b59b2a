from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import ROOT

NLU_DATA = ROOT / "nlu_data"


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained from nlu_data/ once per test run, in a temp folder."""
    from dialogs.nlu.data import load
    from dialogs.nlu.model import save, train

    path = tmp_path_factory.mktemp("model") / "nlu.pkl"
    save(train(load(NLU_DATA)), path)
    return path


@pytest.fixture(scope="session")
def nlu(trained_model: Path):
    from dialogs.nlu import NLU

    return NLU.load(trained_model)
