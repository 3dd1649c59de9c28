"""Safe checkpoints: one safetensors file with the weights and a JSON header, no pickle.

Layout: tensors `net.<name>` (the weights sampled with: the EMA's when training kept one) and, for mixed
prediction, `objective.level_bias`, as float32 on CPU; the safetensors metadata key `tabdiff` holds JSON
{format, version, config (resolved), encoder (its state_dict), na_markers, integer_text, meta}, and the key
`tabdiff_sha256` a checksum of it all (content_digest), checked on loading. Loading parses
JSON and raw tensor bytes only, so a checkpoint can never execute code. Saving is atomic (temporary file +
rename).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tabdiff_cli.errors import CheckpointError
from tabdiff_cli.table.io import atomic_write

FORMAT = "tabdiff-checkpoint"
VERSION = 1
# metadata key of content_digest; checkpoints written before it have none and are read unchecked
DIGEST_KEY = "tabdiff_sha256"


def content_digest(tensors: dict[str, torch.Tensor], header_text: str) -> str:
    """SHA-256 (hex) of the header text and of every tensor's name, dtype, shape and bytes, in name order:
    a flipped byte anywhere, or a safetensors header that lies about a shape, changes it."""
    h = hashlib.sha256(header_text.encode("utf-8"))
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        h.update(f"\0{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_checkpoint(path: str | Path, tensors: dict[str, torch.Tensor], header: dict[str, Any]) -> Path:
    """Write tensors (any device; stored as contiguous CPU copies) and a JSON-serialisable header."""
    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    body = {"format": FORMAT, "version": VERSION, **header}
    text = json.dumps(body, allow_nan=False)
    digest = content_digest(cpu, text)

    def write(p: Path) -> None:
        try:
            save_file(cpu, str(p), metadata={"tabdiff": text, DIGEST_KEY: digest})
        except SafetensorError as exc:  # safetensors reports a full disk as its own error, not an OSError
            raise OSError(str(exc).splitlines()[0] if str(exc) else "cannot serialize") from None

    return atomic_write(path, write)


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read (tensors on CPU, header). Errors: CheckpointError for a missing file, a file that is not a
    tabdiff checkpoint, a truncated one, or a newer format version."""
    p = Path(path)
    if not p.exists():
        nearby = sorted({str(c) for pattern in ("*.ckpt", "outputs/*.ckpt") for c in Path().glob(pattern)})[:3]
        hint = f"; found {', '.join(nearby)}: pass it with --model" if nearby else ""
        raise CheckpointError(f"checkpoint not found: {p} (train one with `tabdiff fit DATA --model {p}`{hint})")
    if p.is_dir():
        raise CheckpointError(f"{p} is a folder, not a checkpoint file")
    try:
        from safetensors import safe_open

        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(p), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{p} is not a readable tabdiff checkpoint ({reason})") from None
    if "tabdiff" not in meta:
        raise CheckpointError(f"{p} is a safetensors file but not a tabdiff checkpoint")
    if DIGEST_KEY in meta and content_digest(tensors, meta["tabdiff"]) != meta[DIGEST_KEY]:
        raise CheckpointError(f"{p} is damaged (its content does not match its checksum); fit again or restore it")
    try:
        header = json.loads(meta["tabdiff"])
    except json.JSONDecodeError:
        raise CheckpointError(f"{p}: damaged checkpoint header") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{p}: damaged checkpoint header")
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{p} is not a tabdiff checkpoint")
    if int(header.get("version", 0)) > VERSION:
        raise CheckpointError(f"{p} was written by a newer tabdiff (format {header['version']}); upgrade tabdiff")
    return tensors, header
