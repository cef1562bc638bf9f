"""SAM 1 users do not pay transformers' import time: the window, the CLI, the services and loading and running a
SAM 1 model through the two-family loader never import it; loading a SAM 2.1 model does."""
import pytest
import subprocess
import sys
import textwrap

import torch

from fixture_paths import TINY_SAM

SCRIPT = """
    import sys
    import numpy as np
    import app.cli.main, app.services.proposing, app.ui.main_window
    from app.annotate.model_choice import ModelChoice, load_model, registered_models
    from app.models.any_family import engine_for, load_any_sam

    registered_models()
    load_model(ModelChoice(device="cpu"))
    engine = engine_for(load_any_sam(sys.argv[1], device="cpu").sam)
    engine.set_image(np.zeros((20, 30, 3), np.uint8))
    print("transformers" in sys.modules)
    load_any_sam(sys.argv[2], device="cpu")
    print("transformers" in sys.modules)
"""


@pytest.mark.slow
def test_sam1_never_imports_transformers_and_sam2_does(tmp_path, tiny_sam2):
    torch.save(tiny_sam2.state_dict(), tmp_path / "sam2.pt")
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT), str(TINY_SAM), str(tmp_path / "sam2.pt")],
                          capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.split() == ["False", "True"]
