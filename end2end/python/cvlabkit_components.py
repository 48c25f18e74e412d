"""Drives CVLab-Kit's own components client (`ComponentManager`, from
web_helper/middleend/component_manager.py in deveronica/cvlab-kit, loaded
from the file given, never copied into this repository) against a running
Trainyard server: sync, skip, manifest, restore, and the strategies.

Usage: cvlabkit_components.py CLIENT_FILE SERVER_URL API_KEY WORK_DIR
Prints one JSON line with what it saw; exits non-zero on the first
expectation that does not hold, naming it.
"""

import importlib.util
import json
import sys
from pathlib import Path

import xxhash


def load_client(path):
    spec = importlib.util.spec_from_file_location("component_manager", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def h(text):
    return xxhash.xxh3_64(text.encode("utf-8")).hexdigest()


def expect(condition, what, seen=None):
    if not condition:
        print(json.dumps({"failed": what, "seen": seen}, default=str))
        sys.exit(1)


def main():
    client_file, url, key, work = sys.argv[1:5]
    cm = load_client(client_file)
    work = Path(work).resolve()
    worker = work / "worker"
    worker.mkdir(parents=True, exist_ok=True)
    config = work / "config.yaml"
    config.write_text(
        "agent: classification\n"
        "model: toy(num_classes=10)\n"
        "loss: cross_entropy\n"
        "metric: accuracy | mine(x=1)\n"
    )
    manager = cm.ComponentManager(url, base_path=worker, api_key=key)

    # 1. The worker's sync: every referenced component the store has is
    #    downloaded (hash-checked by the client) and its active hash returned.
    first = manager.sync_from_version_store(config)
    expect(sorted(first["synced"]) == ["agent/classification.py", "loss/cross_entropy.py",
                                       "metric/accuracy.py", "model/toy.py"],
           "the first sync downloads the four stored components", first)
    expect(first["failed"] == ["metric/mine.py"], "a component the store lacks fails", first)
    toy = (worker / "cvlabkit/component/model/toy.py").read_text()
    expect(first["component_hashes"]["model/toy.py"] == h(toy), "the hash is the content's", first)

    # 2. Nothing changed: everything is skipped.
    second = manager.sync_from_version_store(config)
    expect(len(second["skipped"]) == 4 and not second["synced"], "an unchanged sync skips", second)

    # 3. Manifest saved under CVLab-Kit's own id, restored into a fresh tree.
    expect(manager.save_experiment_manifest("20261130_abcd", first["component_hashes"]),
           "the manifest is saved")
    fresh = work / "restored"
    restorer = cm.ComponentManager(url, base_path=fresh.resolve(), api_key=key)
    restored = restorer.restore_from_manifest("20261130_abcd")
    expect(sorted(restored["synced"]) == sorted(first["component_hashes"]),
           "restore writes every manifest entry", restored)
    for rel in ["cvlabkit/agent/classification.py", "cvlabkit/component/model/toy.py"]:
        expect((fresh / rel).read_bytes() == (worker / rel).read_bytes(),
               f"{rel} is restored byte for byte")

    # 4. Interactive: a local edit is a local_newer conflict; a file the
    #    store has never seen a version of is local_only (the store says 404).
    loss = worker / "cvlabkit/component/loss/cross_entropy.py"
    loss.write_text(loss.read_text() + "# tuned locally\n")
    mine = worker / "cvlabkit/component/metric/mine.py"
    mine.write_text("def mine(x):\n    return x\n")
    asking = cm.ComponentManager(url, base_path=worker, api_key=key,
                                 sync_strategy=cm.SyncStrategy.INTERACTIVE)
    result = asking.sync_with_strategy(config)
    kinds = sorted((c.path, c.conflict_type) for c in result.conflicts)
    expect(kinds == [("loss/cross_entropy.py", "local_newer"), ("metric/mine.py", "local_only")],
           "interactive reports the two conflicts", kinds)

    # 5. Local priority uploads both, and the store's active versions follow.
    pushing = cm.ComponentManager(url, base_path=worker, api_key=key,
                                  sync_strategy=cm.SyncStrategy.LOCAL_PRIORITY)
    pushed = pushing.sync_with_strategy(config)
    expect(sorted(pushed.uploaded) == ["loss/cross_entropy.py", "metric/mine.py"],
           "local priority uploads the local changes", pushed.uploaded)
    versions = pushing.client.get(
        "/api/components/versions/loss/cross_entropy", params={"include_content": "false"}
    ).json()["data"]
    active = [v["hash"] for v in versions if v["is_active"]]
    expect(active == [h(loss.read_text())], "the uploaded edit is the active version", versions)

    # 6. Server-authoritative: an old local copy is replaced by the active one.
    loss.write_text("stale = True\n")
    authority = cm.ComponentManager(url, base_path=worker, api_key=key,
                                    sync_strategy=cm.SyncStrategy.SERVER_AUTHORITATIVE)
    replaced = authority.sync_with_strategy(config)
    expect("loss/cross_entropy.py" in replaced.synced, "the store's version replaces the stale one",
           replaced.synced)
    expect(h(loss.read_text()) == active[0], "the worker now has the active content")

    print(json.dumps({
        "synced": len(first["synced"]),
        "restored": len(restored["synced"]),
        "conflicts": kinds,
        "uploaded": pushed.uploaded,
    }))


if __name__ == "__main__":
    main()
