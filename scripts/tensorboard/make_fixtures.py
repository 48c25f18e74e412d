#!/usr/bin/env python3
"""Writes the TensorBoard event files the engine's tests read
(engine/tests/fixtures/tensorboard/), once; the output is committed so CI
needs no TensorBoard install.

    python3 -m venv /tmp/venv-tb
    /tmp/venv-tb/bin/pip install -r scripts/tensorboard/requirements.txt
    /tmp/venv-tb/bin/python scripts/tensorboard/make_fixtures.py

Two trees, both laid out like `--import-dir` roots (`<root>/<project>/<run>/`):

logs/cifar/  written with tensorboardX 2.6.5:
  scalars/    train/loss = 1/(s+1), val/accuracy = s/100 (0.0 at step 0),
              lr = 0.1 * 0.5**(s//50), steps 0..299, walltime 1.7e9 + s
  multi/      `add_scalars("loss", {train: 1+s, val: 2+s})`, steps 0..9:
              sub-runs multi/loss/train and multi/loss/val (tag "loss");
              multi/ itself holds only a file_version record
  tf2style/   TF2 / torch new_style tensors, built with tensorboardX's protos:
              tf2/content (tensor_content), tf2/float_val, tf2/double_val,
              steps 0..4, value = s + 0.5 (0.25 for double_val: s + 0.25)
  nonscalar/  a histogram, an image, a text, then one scalar (note/after=3.0)
  restarted/  two files (a writer restart): steps 0..99 value 1.0, then
              steps 50..149 value 2.0
logs-bad/broken/  made by hand from tensorboardX output:
  empty/      a 0-byte event file
  garbage/    text, no record at all
  crcflip/    10 scalars (s = 0..9, value s), record of step 4 flipped
  huge/       a header saying 2^60 bytes (its CRC correct), then 5 scalars
  growing/    10 scalars, the last record cut short (a writer still writing)
"""

import os
import shutil
import struct
import sys
import tempfile
import time

import numpy as np
from tensorboardX import SummaryWriter
from tensorboardX.crc32c import crc32c
from tensorboardX.proto import summary_pb2, tensor_pb2, tensor_shape_pb2

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(REPO, "engine", "tests", "fixtures", "tensorboard")
T0 = 1_700_000_000.0


def masked(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def settle(directory: str, name: str) -> None:
    """Gives the one event file in `directory` a fixed name (tensorboardX
    names them after the clock and the host)."""
    files = sorted(f for f in os.listdir(directory) if "tfevents" in f)
    assert len(files) == 1, (directory, files)
    os.rename(os.path.join(directory, files[0]), os.path.join(directory, name))


def writer(path: str) -> SummaryWriter:
    os.makedirs(path, exist_ok=True)
    return SummaryWriter(logdir=path, flush_secs=3600)


def scalars(root: str) -> None:
    run = os.path.join(root, "scalars")
    w = writer(run)
    for s in range(300):
        w.add_scalar("train/loss", 1.0 / (s + 1), s, walltime=T0 + s)
        w.add_scalar("val/accuracy", s / 100.0, s, walltime=T0 + s)
        w.add_scalar("lr", 0.1 * 0.5 ** (s // 50), s, walltime=T0 + s)
    w.close()
    settle(run, "events.out.tfevents.1700000000.fixture")


def multi(root: str) -> None:
    run = os.path.join(root, "multi")
    w = writer(run)
    for s in range(10):
        w.add_scalars("loss", {"train": 1.0 + s, "val": 2.0 + s}, s, walltime=T0 + s)
    w.close()
    settle(run, "events.out.tfevents.1700000000.fixture")
    for sub in ("train", "val"):
        settle(os.path.join(run, "loss", sub), "events.out.tfevents.1700000000.fixture")


def tf2style(root: str) -> None:
    run = os.path.join(root, "tf2style")
    w = writer(run)
    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    )
    for s in range(5):
        values = [
            summary_pb2.Summary.Value(
                tag="tf2/content",
                metadata=meta,
                tensor=tensor_pb2.TensorProto(
                    dtype=1,
                    tensor_shape=tensor_shape_pb2.TensorShapeProto(),
                    tensor_content=struct.pack("<f", s + 0.5),
                ),
            ),
            summary_pb2.Summary.Value(
                tag="tf2/float_val",
                metadata=meta,
                tensor=tensor_pb2.TensorProto(dtype=1, float_val=[s + 0.5]),
            ),
            summary_pb2.Summary.Value(
                tag="tf2/double_val",
                metadata=meta,
                tensor=tensor_pb2.TensorProto(dtype=2, double_val=[s + 0.25]),
            ),
        ]
        w._get_file_writer().add_summary(summary_pb2.Summary(value=values), s, T0 + s)
    w.close()
    settle(run, "events.out.tfevents.1700000000.fixture")


def nonscalar(root: str) -> None:
    run = os.path.join(root, "nonscalar")
    w = writer(run)
    w.add_histogram("weights", np.linspace(-1.0, 1.0, 1000), 1, walltime=T0 + 1)
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a2d8b1b90000000049454e44ae426082"
    )
    image = summary_pb2.Summary.Image(height=1, width=1, colorspace=4, encoded_image_string=png)
    w._get_file_writer().add_summary(
        summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="sample", image=image)]), 1, T0 + 1
    )
    w.add_text("note", "a text summary", 1, walltime=T0 + 1)
    w.add_scalar("note/after", 3.0, 2, walltime=T0 + 2)
    w.close()
    settle(run, "events.out.tfevents.1700000000.fixture")


def restarted(root: str) -> None:
    run = os.path.join(root, "restarted")
    w = writer(run)
    for s in range(100):
        w.add_scalar("loss", 1.0, s, walltime=T0 + s)
    w.close()
    settle(run, "events.out.tfevents.1700000000.fixture")
    os.rename(os.path.join(run, "events.out.tfevents.1700000000.fixture"), os.path.join(run, "a"))
    # tensorboardX names files by the second: a writer started within the
    # same second would overwrite the first file.
    time.sleep(1.1)
    w = writer(run)
    for s in range(50, 150):
        w.add_scalar("loss", 2.0, s, walltime=T0 + 100 + s)
    w.close()
    settle(run, "events.out.tfevents.1700000100.fixture")
    os.rename(os.path.join(run, "a"), os.path.join(run, "events.out.tfevents.1700000000.fixture"))


def ten_scalars(tmp: str, name: str) -> bytes:
    path = os.path.join(tmp, name)
    w = writer(path)
    for s in range(10):
        w.add_scalar("loss", float(s), s, walltime=T0 + s)
    w.close()
    (f,) = [f for f in os.listdir(path) if "tfevents" in f]
    with open(os.path.join(path, f), "rb") as fh:
        return fh.read()


def records(data: bytes) -> list:
    """Offsets of each record."""
    out, at = [], 0
    while at < len(data):
        (length,) = struct.unpack("<Q", data[at : at + 8])
        out.append(at)
        at += 16 + length
    return out


def bad(root: str) -> None:
    def put(run: str, data: bytes) -> None:
        os.makedirs(os.path.join(root, run), exist_ok=True)
        with open(os.path.join(root, run, "events.out.tfevents.1700000000.fixture"), "wb") as fh:
            fh.write(data)

    with tempfile.TemporaryDirectory() as tmp:
        good = ten_scalars(tmp, "good")
    starts = records(good)  # record 0 is file_version; record k+1 is step k
    put("empty", b"")
    put("garbage", b"this is not a TensorBoard event file\n" * 20)
    flipped = bytearray(good)
    flipped[starts[5] + 14] ^= 0xFF  # a payload byte of step 4
    put("crcflip", bytes(flipped))
    huge = struct.pack("<Q", 1 << 60)
    put("huge", good[: starts[1]] + huge + struct.pack("<I", masked(huge)) + good[starts[6] :])
    put("growing", good[: len(good) - 5])


def main() -> None:
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    logs = os.path.join(OUT, "logs", "cifar")
    for make in (scalars, multi, tf2style, nonscalar, restarted):
        make(logs)
    bad(os.path.join(OUT, "logs-bad", "broken"))
    total = sum(
        os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs
    )
    print(f"wrote {OUT} ({total} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
