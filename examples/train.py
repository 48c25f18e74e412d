#!/usr/bin/env python3
"""A fake training script for trying Trainyard without a GPU or any packages.

Reads the resolved config from $TRAINYARD_CONFIG (or the first argument);
the flags --epochs, --step-seconds, --lr and --batch-size override it (what
examples/catalog.yaml's tasks pass),
"trains" for `epochs` epochs of `step_seconds` each, prints progress and
TRAINYARD_METRIC:: JSON lines, and writes metrics.csv into $TRAINYARD_RUN_DIR
(or the current directory). Each epoch whose validation accuracy is the best
so far rewrites best_checkpoint.pt there: the "weights" of this fake model,
a small JSON document holding a linear model (what the model registry
publishes and examples/model_server.py serves).

It also replaces checkpoint.json (the epoch reached and the best accuracy
so far) in one atomic rename: after an epoch once `checkpoint_seconds`
(--checkpoint-seconds, default 2) have passed since the last one, so the
file holds still long enough for the agent to ship it; on SIGTERM (a
cancel or a preemption: the grace period is for this); and at the end.
Started again with
$TRAINYARD_RESUME_DIR set (a retried, preempted or resumed job; the
previous attempt's synced files are there), it continues after the epoch
that checkpoint names, and logs metrics only for later epochs. Standard
library only.
"""

import argparse
import csv
import json
import math
import os
import shutil
import signal
import sys
import time


def parse_scalar(text):
    """Types a plain YAML scalar the way our examples need."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        inner = text[1:-1]
        return inner.replace('\\"', '"').replace("\\\\", "\\") if text[0] == '"' else inner.replace("''", "'")
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def strip_comment(line):
    """Drops a ` # comment` that is not inside quotes."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def read_yaml(path):
    """Minimal YAML reader: nested `key: value` mappings; lists stay text."""
    root = {}
    stack = [(-1, root)]
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = strip_comment(raw.rstrip("\n")).rstrip()
            if not line.strip() or line.strip() in ("---", "..."):
                continue
            indent = len(line) - len(line.lstrip(" "))
            body = line.strip()
            if body.startswith("- "):
                continue  # list items (e.g. a command argv) are not needed here
            key, sep, value = body.partition(":")
            if not sep:
                raise SystemExit(f"{path}:{number}: expected `key: value`, got {body!r}")
            while stack[-1][0] >= indent:
                stack.pop()
            parent = stack[-1][1]
            key = parse_scalar(key)
            if value.strip():
                parent[key] = parse_scalar(value)
            else:
                child = {}
                parent[key] = child
                stack.append((indent, child))
    return root


def param(config, dotted, default, kind, check, rule):
    """Reads a dotted key, converts it, and exits with a clear message if bad."""
    node = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    if node is None or node == {}:
        return default
    try:
        value = kind(node)
    except (TypeError, ValueError):
        value = None
    if value is None or isinstance(node, bool) or not check(value):
        print(f"error: bad parameter {dotted}={node!r}: {rule}", file=sys.stderr, flush=True)
        sys.exit(2)
    return value


# What SIGTERM saves: the run dir and the state after the last whole epoch.
PROGRESS = {"run_dir": None, "state": None}


def on_sigterm(_signum, _frame):
    print("received SIGTERM, stopping", flush=True)
    if PROGRESS["state"] is not None:
        save_progress(PROGRESS["run_dir"], PROGRESS["state"])
        print(f"checkpointed epoch {PROGRESS['state']['epoch']}", flush=True)
    sys.exit(143)


def main():
    signal.signal(signal.SIGTERM, on_sigterm)
    # Flags (what a launcher catalog passes) win over the config file.
    parser = argparse.ArgumentParser(description="A fake training run.")
    parser.add_argument("config", nargs="?", help="config YAML (default: $TRAINYARD_CONFIG)")
    parser.add_argument("--epochs")
    parser.add_argument("--step-seconds")
    parser.add_argument("--lr")
    parser.add_argument("--batch-size")
    parser.add_argument("--checkpoint-seconds")
    parser.add_argument("--optimizer", help="shown in the output only")
    parser.add_argument("--augment", help="true or false; shown in the output only")
    args = parser.parse_args()
    path = os.environ.get("TRAINYARD_CONFIG") or args.config
    config = read_yaml(path) if path else {}
    flags = {
        "epochs": args.epochs,
        "step_seconds": args.step_seconds,
        "optimizer": {"lr": args.lr},
        "batch_size": args.batch_size,
        "checkpoint_seconds": args.checkpoint_seconds,
    }
    for key, value in flags.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                if v is not None:
                    config.setdefault(key, {})
                    if not isinstance(config[key], dict):
                        config[key] = {}
                    config[key][sub] = v
        elif value is not None:
            config[key] = value
    epochs = param(config, "epochs", 5, int, lambda v: v >= 1, "must be a whole number >= 1")
    step = param(config, "step_seconds", 0.5, float, lambda v: 0 <= v <= 3600, "must be seconds between 0 and 3600")
    every = param(config, "checkpoint_seconds", 2.0, float, lambda v: 0 <= v <= 86400, "must be seconds between 0 and 86400")
    lr = param(config, "optimizer.lr", 0.01, float, lambda v: 0 < v < 10, "must be a number between 0 and 10")
    batch = param(config, "batch_size", 32, int, lambda v: v >= 1, "must be a whole number >= 1")
    if args.optimizer or args.augment:
        print(f"optimizer={args.optimizer} augment={args.augment}", flush=True)

    run_dir = os.environ.get("TRAINYARD_RUN_DIR") or os.getcwd()
    os.makedirs(run_dir, exist_ok=True)
    print(f"training: epochs={epochs} lr={lr} batch_size={batch} step_seconds={step}", flush=True)
    # A smooth, deterministic curve: larger lr learns faster, larger batches a bit slower.
    rate = 0.15 + 2.0 * min(lr, 1.0) + 8.0 / batch
    first, best_acc = resume_point(run_dir)
    PROGRESS["run_dir"] = run_dir
    last_save = time.monotonic()
    with open(os.path.join(run_dir, "metrics.csv"), "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        # Validation numbers go to the CSV, training numbers to stdout: both
        # become metric series (distinct keys, so no series gets two sources).
        out.writerow(["epoch", "val_loss", "val_accuracy"])
        f.flush()
        for epoch in range(first, epochs + 1):
            time.sleep(step)
            loss = 2.3 * math.exp(-rate * epoch) + 0.05
            acc = 1.0 - 0.9 * math.exp(-rate * epoch)
            val_acc = round(acc * 0.97, 4)
            out.writerow([epoch, f"{loss * 1.1 + 0.02:.4f}", f"{val_acc:.4f}"])
            f.flush()
            if best_acc is None or val_acc > best_acc:
                best_acc = val_acc
                write_checkpoint(run_dir, {"epoch": epoch, "val_accuracy": val_acc, "lr": lr, "batch_size": batch})
            print(f"epoch {epoch}/{epochs} loss={loss:.2f} acc={acc:.2f}", flush=True)
            metric = {"epoch": epoch, "total_epochs": epochs, "loss": round(loss, 4), "accuracy": round(acc, 4)}
            print("TRAINYARD_METRIC::" + json.dumps(metric, separators=(",", ":")), flush=True)
            PROGRESS["state"] = {"epoch": epoch, "best_accuracy": best_acc}
            if epoch == epochs or time.monotonic() - last_save >= every:
                save_progress(run_dir, PROGRESS["state"])
                last_save = time.monotonic()
    print("done", flush=True)
    return 0


CHECKPOINT = "checkpoint.json"


def resume_point(run_dir):
    """(first epoch to train, best accuracy so far): (1, None) on a fresh
    start; after the checkpoint's epoch when $TRAINYARD_RESUME_DIR has one.
    The best checkpoint comes along, so this run's files hold the best model."""
    resume_dir = os.environ.get("TRAINYARD_RESUME_DIR")
    if not resume_dir:
        return 1, None
    path = os.path.join(resume_dir, CHECKPOINT)
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
        epoch, best = int(state["epoch"]), state.get("best_accuracy")
    except FileNotFoundError:
        print(f"no {CHECKPOINT} in {resume_dir}; starting from epoch 1", flush=True)
        return 1, None
    except (ValueError, KeyError, TypeError) as e:
        print(f"error: cannot resume from {path}: {e}", file=sys.stderr, flush=True)
        sys.exit(2)
    best_model = os.path.join(resume_dir, "best_checkpoint.pt")
    if os.path.exists(best_model):
        shutil.copyfile(best_model, os.path.join(run_dir, "best_checkpoint.pt"))
    print(f"resuming after epoch {epoch} from {path}", flush=True)
    return epoch + 1, best


def save_progress(run_dir, state):
    """Replaces checkpoint.json atomically: written beside the run dir (so
    the agent never ships a half-written temporary file) and renamed in."""
    parent = os.path.dirname(os.path.abspath(run_dir))
    staging = parent if os.access(parent, os.W_OK) else run_dir
    temporary = os.path.join(staging, f".{os.path.basename(run_dir)}.{os.getpid()}.{CHECKPOINT}.tmp")
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(state, f, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, os.path.join(run_dir, CHECKPOINT))


def write_checkpoint(run_dir, state):
    """Rewrites best_checkpoint.pt with one small write (no temporary file
    beside it, which the agent's file sync would ship too)."""
    model = {
        "format": "trainyard-example-model",
        "name": "example-linear",
        # Two inputs; the weights are this run's accuracy and learning rate.
        "weights": [state["val_accuracy"], state["lr"]],
        "bias": 0.0,
        "state": state,
    }
    text = json.dumps(model, sort_keys=True) + "\n"
    with open(os.path.join(run_dir, "best_checkpoint.pt"), "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
