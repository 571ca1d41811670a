"""Serving commands: ``ft-lab serve`` puts a run behind an OpenAI-compatible API; ``ft-lab monitor`` reads its log.

    FT_LAB_API_KEY=... ft-lab serve runs/r1 [--port 8000] [--host 127.0.0.1] [--engine auto|transformers|vllm]
    ft-lab monitor serving/r1 [--json]
    ft-lab monitor export serving/r1 --out corrections.jsonl [--pairs]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import UserError
from ..safety.atomic import atomic_write_text, jsonl_text, read_json
from ..safety.output_paths import check_out_file
from ..serving.app import Limits
from ..serving.engines import ENGINES
from ..serving.feedback import training_rows
from ..serving.start import ServeOptions, serve
from ..serving.monitor import Thresholds, report_lines, summarize
from ..serving.store import RequestLog


def cmd_serve(args) -> int:
    options = ServeOptions(host=args.host, port=args.port, engine=args.engine, api_key_file=args.api_key_file,
                           no_key=args.no_key, serve_dir=args.serve_dir, store_text=not args.no_store_text,
                           certfile=args.certfile, keyfile=args.keyfile, device=args.device,
                           limits=Limits(max_request_bytes=args.max_request_bytes, rate_per_minute=args.rate_limit,
                                         max_tokens=args.max_tokens))
    return serve(args.source, options, announce=lambda m: print(m, flush=True))


def cmd_monitor(args) -> int:
    if len(args.target) == 2 and args.target[0] == "export":
        return _export(Path(args.target[1]), args)
    if len(args.target) != 1:
        raise UserError("usage: ft-lab monitor SERVE_DIR, or ft-lab monitor export SERVE_DIR --out FILE")
    folder = Path(args.target[0])
    log = RequestLog(folder, create=False)
    drift = read_json(folder / "drift.json", None)
    if args.far_below is not None:
        drift = {**(drift or {}), "far_below": args.far_below}
    summary = summarize(log.requests(), log.feedbacks(), drift,
                        Thresholds(far_share=args.far_share, low_confidence=args.low_confidence,
                                   low_confidence_share=args.low_confidence_share))
    print(json.dumps(summary, indent=2) if args.json else "\n".join(report_lines(summary)))
    return 0


def _export(folder: Path, args) -> int:
    if not args.out:
        raise UserError("ft-lab monitor export: --out FILE is required (a .jsonl file)")
    out = check_out_file(args.out, force=args.force)
    log = RequestLog(folder, create=False)
    rows, skipped = training_rows(log.requests(), log.feedbacks(), pairs=args.pairs)
    if not rows:
        raise UserError(f"{folder}: no corrected request to export (send corrections to /v1/feedback)"
                        + (f"; {skipped} correction(s) have no logged input text" if skipped else ""))
    atomic_write_text(out, jsonl_text(rows))
    print(f"wrote {len(rows)} {'preference pairs' if args.pairs else 'training rows'} to {out}"
          + (f" ({skipped} skipped: no logged input or answer)" if skipped else ""), file=sys.stderr)
    return 0


def add_commands(subparsers) -> None:
    limits = Limits()
    p = subparsers.add_parser("serve", help="serve a completed run or an export behind an OpenAI-compatible API")
    p.add_argument("source", metavar="RUN_OR_EXPORT", help="a completed run directory, or a folder of ft-lab export")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="auto: vLLM where installed with a GPU, else transformers' server")
    p.add_argument("--api-key-file", help="file whose first line is the API key (else $FT_LAB_API_KEY)")
    p.add_argument("--no-key", action="store_true", help="serve without an API key (loopback addresses only)")
    p.add_argument("--serve-dir", help="folder of the request log (default serving/<name>)")
    p.add_argument("--no-store-text", action="store_true",
                   help="log figures only, no request or answer text (texts are PII-masked otherwise)")
    p.add_argument("--certfile", help="TLS certificate (PEM), with --keyfile")
    p.add_argument("--keyfile", help="TLS private key (PEM), with --certfile")
    p.add_argument("--device", default="auto", help="the engine's device (auto, cpu, cuda:0)")
    p.add_argument("--max-request-bytes", type=int, default=limits.max_request_bytes)
    p.add_argument("--rate-limit", type=int, default=limits.rate_per_minute,
                   help="requests per minute per client address (0: no limit)")
    p.add_argument("--max-tokens", type=int, default=limits.max_tokens, help="most tokens one answer may ask for")
    p.set_defaults(handler=cmd_serve)

    p = subparsers.add_parser("monitor", help="a served model's requests: volume, latency, drift, confidence, alerts")
    p.add_argument("target", nargs="+", metavar="SERVE_DIR", help="SERVE_DIR, or: export SERVE_DIR --out FILE")
    p.add_argument("--json", action="store_true", help="the figures as JSON")
    p.add_argument("--far-below", type=float, help="similarity under which a request is far (default: drift.json)")
    p.add_argument("--far-share", type=float, default=0.25, help="alert above this share of far requests")
    p.add_argument("--low-confidence", type=float, default=0.5, help="a probability below this is low-confidence")
    p.add_argument("--low-confidence-share", type=float, default=0.25, help="alert above this low-confidence share")
    p.add_argument("--out", help="with export: the .jsonl file of training rows to write")
    p.add_argument("--pairs", action="store_true", help="with export: preference pairs (prompt, chosen, rejected)")
    p.add_argument("--force", action="store_true", help="with export: replace --out")
    p.set_defaults(handler=cmd_monitor)
