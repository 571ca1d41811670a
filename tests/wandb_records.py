"""Read back what W&B wrote offline: the records of a run's ``.wandb`` file, parsed with W&B's own protobuf
messages (``wandb.proto.wandb_internal_pb2.Record``).

The file is a LevelDB-style log, as W&B's former ``wandb.sdk.internal.datastore`` read it (removed from the
package in 0.30; ``wandb sync`` only uploads): a 7-byte header (``:W&B``, magic 0xBEE1, version 0), then
blocks of 32 KiB holding chunks of [crc32 u32, length u16, type u8] + data; type 1 is a whole record,
2/3/4 its first/middle/last parts; a block's tail shorter than a chunk header is padding."""
from __future__ import annotations

import json
import struct
from pathlib import Path

BLOCK = 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path):
    from wandb.proto import wandb_internal_pb2
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B" and struct.unpack("<HB", data[4:7]) == (0xBEE1, 0), data[:7]
    pos, parts = 7, b""
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if kind == 0 and length == 0:  # zero padding to the end of the block
            pos += left
            continue
        parts += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(parts)
            parts = b""
            yield record


def offline_run(path: Path) -> dict:
    """The run record's group, job type, name and config, each step's logged values, the summary, the
    artifacts' names and files, and the exit code."""
    out = {"history": {}, "summary": {}, "artifacts": {}, "exit_code": None}
    for r in records(path):
        kind = r.WhichOneof("record_type")
        if kind == "run":
            out.update(group=r.run.run_group, job_type=r.run.job_type, name=r.run.display_name,
                       config={u.key: json.loads(u.value_json) for u in r.run.config.update})
        elif kind == "history":
            items = {"/".join(i.nested_key) or i.key: json.loads(i.value_json) for i in r.history.item}
            out["history"].setdefault(r.history.step.num, {}).update(items)
        elif kind == "summary":
            out["summary"].update({"/".join(u.nested_key) or u.key: json.loads(u.value_json) for u in r.summary.update})
        elif kind == "artifact":
            out["artifacts"][r.artifact.name] = sorted(c.path for c in r.artifact.manifest.contents)
        elif kind == "exit":
            out["exit_code"] = r.exit.exit_code
    return out
