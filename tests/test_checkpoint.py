"""Checkpoints: atomic, digest-verified, loaded with weights_only (never executing code)."""

from __future__ import annotations

import io
import pickle
import zipfile

import pytest
import torch

from descentlab.errors import CheckpointError
from descentlab.runs import load_checkpoint, save_checkpoint

pytestmark = pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")


def make_state() -> dict:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    return {
        "step": 7,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "rng": torch.get_rng_state(),
        "note": "x",
    }


def test_round_trip(tmp_path) -> None:
    state = make_state()
    save_checkpoint(tmp_path / "c.pt", state)
    loaded = load_checkpoint(tmp_path / "c.pt")
    assert loaded["step"] == 7 and loaded["note"] == "x"
    for k, v in state["model"].items():
        assert torch.equal(loaded["model"][k], v)
    assert torch.equal(loaded["rng"], state["rng"])
    assert loaded["optimizer"]["state"][0]["step"] == state["optimizer"]["state"][0]["step"]
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind


def test_truncated_checkpoint(tmp_path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, make_state())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a loadable checkpoint"):
        load_checkpoint(path)


def test_flipped_byte_in_tensor_data_is_caught(tmp_path) -> None:
    path = tmp_path / "c.pt"
    state = {"step": 1, "w": torch.arange(1000, dtype=torch.float32)}
    save_checkpoint(path, state)
    data = bytearray(path.read_bytes())
    # find the stored float 500.0 inside the payload and change it: torch.load alone would not notice
    needle = torch.tensor([500.0]).numpy().tobytes()
    at = bytes(data).find(needle)
    assert at > 0
    data[at : at + 4] = torch.tensor([501.0]).numpy().tobytes()
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="digest mismatch"):
        load_checkpoint(path)


def test_malicious_pickle_is_never_executed(tmp_path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "c.pt"
    torch.save({"format": "descentlab-checkpoint", "payload": Evil()}, path)
    with pytest.raises(CheckpointError, match="not a loadable checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()
    # a raw pickle (not even a zip) is refused the same way
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()


def test_foreign_torch_file_is_rejected(tmp_path) -> None:
    path = tmp_path / "c.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not a descentlab checkpoint"):
        load_checkpoint(path)


def test_missing_checkpoint(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="no checkpoint there"):
        load_checkpoint(tmp_path / "none.pt")


def test_checkpoint_is_a_torch_zip(tmp_path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"step": 0})
    assert zipfile.is_zipfile(io.BytesIO(path.read_bytes()))
