"""Data-parallel fine-tuning on the CPU with gloo and 2 processes: gradients averaged over the ranks, each rank its
own share of the images, rank 0's weights given to every rank after each step, a cancel on rank 0 stopping them
all."""
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from app.mopeft import MoPEFTConfig, peft_state_dict
from app.training.finetune.data_parallel import train_data_parallel
from app.training.finetune.events import TrainingCancelled
from app.training.finetune.ranks import Ranks
from app.training.finetune.settings import TrainSettings
from loop_setup import wrapped_and_prepared


def _collectives(rank: int, store: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    ranks = Ranks.current()
    params = [torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(2, 2))]
    params[0].grad = torch.full((3,), float(rank + 1))
    params[1].grad = torch.arange(4.0).view(2, 2) * (rank + 1)
    ranks.average_gradients(params)
    own = [torch.nn.Parameter(torch.full((2,), float(rank)))]
    ranks.take_first_ranks(own)
    torch.save({"own": own[0].detach(), "grads": [p.grad for p in params], "share": ranks.share([7, 3, 5, 1], 2),
                "short_share": ranks.share([4], 2), "any": ranks.any(rank == 1, torch.device("cpu"))},
               f"{out}{rank}.pt")
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_ranks_average_gradients_share_images_and_agree(tmp_path):
    mp.start_processes(_collectives, args=(str(tmp_path / "store"), str(tmp_path / "rank")), nprocs=2,
                       start_method="spawn")
    got = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    for g in got:
        assert torch.equal(g["grads"][0], torch.full((3,), 1.5))
        assert torch.equal(g["grads"][1], torch.arange(4.0).view(2, 2) * 1.5)
        assert g["any"] is True and torch.equal(g["own"], torch.zeros(2))
    assert (got[0]["share"], got[1]["share"]) == ([7, 3], [5, 1])   # disjoint shares of one pick
    assert got[0]["short_share"] == got[1]["short_share"] == [4, 4]


@pytest.mark.slow
def test_two_gloo_processes_train_together():
    settings = TrainSettings(MoPEFTConfig(blocks="last:2"), steps=4, images_per_step=1, processes=2)
    sam, data = wrapped_and_prepared(settings)
    before = {k: v.clone() for k, v in peft_state_dict(sam).items()}
    events = []
    assert train_data_parallel(sam, data, settings, 2, on_step=events.append) == 4
    assert [e.step for e in events] == [1, 2, 3, 4]
    after = peft_state_dict(sam)
    assert any(not torch.equal(after[k], before[k]) for k in before)
    assert all(torch.isfinite(v).all() for v in after.values())


@pytest.mark.slow
def test_a_cancel_on_rank_0_stops_every_rank():
    settings = TrainSettings(steps=50, images_per_step=1, processes=2)
    sam, data = wrapped_and_prepared(settings)
    events = []
    with pytest.raises(TrainingCancelled, match="after 2 of 50"):
        train_data_parallel(sam, data, settings, 2, on_step=events.append, cancel=lambda: len(events) >= 2)
