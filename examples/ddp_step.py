"""A tiny DistributedDataParallel step, for `launcher: torchrun` jobs.

Each worker (one per GPU, started by torchrun) joins the process group,
runs one forward/backward pass of a small model under DDP (which all-reduces
the gradients) and prints what it saw; rank 0 also checks that every rank
ended with the same weights. Exits non-zero if anything disagrees.
"""

import os

import torch
import torch.distributed as dist


def main() -> None:
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ["LOCAL_RANK"])
    world = int(os.environ["WORLD_SIZE"])
    torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl")
    torch.manual_seed(0)
    model = torch.nn.Linear(1024, 1024).cuda()
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local_rank])
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1)
    # Different data per rank: only the all-reduce makes the weights agree.
    torch.manual_seed(rank + 1)
    loss = ddp(torch.randn(64, 1024, device="cuda")).square().mean()
    loss.backward()
    optimizer.step()
    checksum = model.weight.detach().sum()
    sums = [torch.zeros_like(checksum) for _ in range(world)]
    dist.all_gather(sums, checksum)
    print(
        f"rank {rank}/{world} local_rank {local_rank} "
        f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')} "
        f"TRAINYARD_GPUS={os.environ.get('TRAINYARD_GPUS')} "
        f"device={torch.cuda.get_device_name(local_rank)} loss={loss.item():.4f} "
        f"weights={checksum.item():.6f}",
        flush=True,
    )
    same = all(torch.allclose(s, sums[0]) for s in sums)
    if rank == 0:
        print(f"DDP step: {world} ranks, weights identical after all-reduce: {same}", flush=True)
    dist.destroy_process_group()
    raise SystemExit(0 if same else 1)


if __name__ == "__main__":
    main()
