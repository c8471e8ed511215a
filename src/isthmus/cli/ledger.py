"""`isthmus ledger …`: verify the stored history against its signatures and signed tree heads,
prove a sample's inclusion, check a proof offline, prove consistency, sign a checkpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from isthmus.cli.options import (
    FILE_PATH,
    data_option,
    historian_option,
    historian_url,
    open_existing_historian,
)
from isthmus.cli.times import format_ts, parse_time
from isthmus.historian import HistorianError, LedgerHistorian
from isthmus.integrity.checkpoint import Checkpoint
from isthmus.integrity.errors import IntegrityError
from isthmus.integrity.evidence import (
    check_inclusion_proof,
    consistency_evidence,
    inclusion_proof_for,
    stored_log,
)
from isthmus.integrity.identity import VKEY_FILE, GatewayIdentity
from isthmus.integrity.note import NoteVerifier
from isthmus.integrity.verify import Finding, verify_ledger
from isthmus.integrity.witness import Witness, WitnessError, publish_checkpoint
from isthmus.model import UnknownTagError, now_ns

__all__ = ["ledger_group"]

F = TypeVar("F", bound=Callable[..., Any])


def _out_option(func: F) -> F:
    return click.option("-o", "--out", type=FILE_PATH,
                        default=None, help="Write the proof to FILE (default: stdout).")(func)


def _pubkey_option(func: F) -> F:
    return click.option(
        "--pubkey", "pubkeys", multiple=True, metavar="KEY",
        help="Trusted gateway key: a verifier key line (name+id+base64) or a file holding "
             "one. Repeatable. Default: DATA/identity/gateway.vkey.")(func)


def _parse_key(text: str) -> NoteVerifier:
    path = Path(text)
    line = path.read_text().strip() if "+" not in text and path.is_file() else text
    try:
        return NoteVerifier.parse(line)
    except IntegrityError as exc:
        raise click.BadParameter(f"{text}: {exc}", param_hint="--pubkey") from None


def _keys(data_dir: Path, pubkeys: tuple[str, ...]) -> list[NoteVerifier]:
    if pubkeys:
        return [_parse_key(k) for k in pubkeys]
    vkey = data_dir / "identity" / VKEY_FILE
    if not vkey.is_file():
        raise click.ClickException(f"no gateway key at {vkey}: pass --pubkey KEY")
    click.echo(f"trusting the key in {vkey} (pass --pubkey for an independent check)", err=True)
    return [_parse_key(str(vkey))]


def _open(data_dir: Path, url: str | None) -> LedgerHistorian:
    historian = open_existing_historian(data_dir, url)
    if not isinstance(historian, LedgerHistorian):
        raise click.ClickException(f"historian {historian_url(data_dir, url)} keeps no ledger")
    return historian


def _span(f: Finding) -> str:
    if f.start_ns is None or f.end_ns is None:
        return ""
    return f" {format_ts(f.start_ns)} … {format_ts(f.end_ns)}"


def _line(f: Finding) -> str:
    where = "" if f.leaf is None else f" leaf {f.leaf}"
    tag = "" if f.tag is None else f" tag {f.tag}"
    count = f" ({f.samples} samples)" if f.samples else ""
    return f"{f.kind.upper():<10}{where}{tag}{_span(f)}{count}: {f.detail}"


@click.group("ledger")
def ledger_group() -> None:
    """The tamper-evident ledger: verify, prove, check-proof, consistency, checkpoint."""


@ledger_group.command("verify")
@data_option
@historian_option
@_pubkey_option
def verify_command(data_dir: Path, historian_url: str | None, pubkeys: tuple[str, ...]) -> None:
    """Recompute every leaf and the tree from the historian, check every signature and
    signed tree head, and name each change. Exit status 1 when anything fails."""
    keys = {k.name: k for k in _keys(data_dir, pubkeys)}
    historian = _open(data_dir, historian_url)
    try:
        report = verify_ledger(historian, keys)
    except HistorianError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        historian.close()
    click.echo(f"ledger: {report.leaves:,} leaves, {report.samples:,} samples, "
               f"{report.policy_entries:,} signed policy entries; "
               f"{report.checkpoints_ok}/{report.checkpoints} signed checkpoints valid, the "
               f"newest covers {report.signed_size:,} leaves")
    for finding in report.findings:
        click.echo(_line(finding))
    failures = sum(f.failure for f in report.findings)
    if failures:
        click.echo(f"FAILED: {failures} problem(s)")
        raise SystemExit(1)
    click.echo("OK: every stored sample matches its signed batch and every tree head")


@ledger_group.command("prove")
@click.argument("tag")
@click.option("--at", "at", required=True, metavar="TIME",
              help="ISO 8601 time, `now` or `-15m`: the latest sample at or before it.")
@_out_option
@data_option
@historian_option
@_pubkey_option
def prove_command(tag: str, at: str, out: Path | None, data_dir: Path,
                  historian_url: str | None, pubkeys: tuple[str, ...]) -> None:
    """Print an inclusion proof for the sample of TAG at TIME (JSON)."""
    try:
        at_ns = parse_time(at, now_ns=now_ns())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None
    keys = _keys(data_dir, pubkeys)
    historian = _open(data_dir, historian_url)
    try:
        tag_id = historian.registry().id_of(tag)
        doc = inclusion_proof_for(historian, keys, tag_id, tag, at_ns)
    except (UnknownTagError, IntegrityError, HistorianError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        historian.close()
    _emit(doc, out)


def _emit(doc: dict[str, Any], out: Path | None) -> None:
    text = json.dumps(doc, indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text)
        click.echo(f"written to {out}", err=True)


@ledger_group.command("check-proof")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pubkey", required=True, metavar="KEY",
              help="The gateway's verifier key line, or a file holding it.")
def check_proof_command(file: Path, pubkey: str) -> None:
    """Check an inclusion proof with only the gateway's public key (no database)."""
    try:
        doc = json.loads(file.read_text())
        proven = check_inclusion_proof(doc, _parse_key(pubkey))
    except (ValueError, KeyError, TypeError, IntegrityError) as exc:
        click.echo(f"INVALID: {exc}")
        raise SystemExit(1) from None
    named = (f"tag {proven.tag} (id {proven.tag_id}, named by the signed tag map at leaf "
             f"{proven.tag_map_index})" if proven.tag is not None else
             f"tag id {proven.tag_id} (no signed tag map in the proof: its path is not proven)")
    click.echo(f"VALID: {named} at {format_ts(proven.ts)} = {proven.value!r} "
               f"(quality {proven.quality:#010x}) is in batch {proven.seq} of "
               f"{proven.gateway_id}/{proven.source}, leaf {proven.leaf_index} of the signed "
               f"tree of {proven.tree_size} leaves")


def _checkpoint_note(ref: str, historian: LedgerHistorian) -> str:
    if ref.isdigit():
        for stored in historian.ledger_checkpoints():
            if stored.size == int(ref):
                return stored.note
        raise click.ClickException(f"no stored checkpoint of size {ref}")
    path = Path(ref)
    if not path.is_file():
        raise click.BadParameter(f"{ref} is neither a file nor a stored tree size")
    return path.read_text()


@ledger_group.command("consistency")
@click.argument("old")
@click.argument("new")
@_out_option
@data_option
@historian_option
@_pubkey_option
def consistency_command(old: str, new: str, out: Path | None, data_dir: Path,
                        historian_url: str | None, pubkeys: tuple[str, ...]) -> None:
    """Prove that tree head OLD is a prefix of NEW (each a checkpoint file or a stored size)."""
    keys = _keys(data_dir, pubkeys)
    historian = _open(data_dir, historian_url)
    try:
        old_note, new_note = _checkpoint_note(old, historian), _checkpoint_note(new, historian)
        doc = consistency_evidence(stored_log(historian), old_note, new_note, keys)
    except (IntegrityError, HistorianError) as exc:
        click.echo(f"NOT CONSISTENT: {exc}", err=True)
        raise SystemExit(1) from None
    finally:
        historian.close()
    _emit(doc, out)
    click.echo(f"consistent: tree of {doc['old_size']} leaves is a prefix of the tree of "
               f"{doc['new_size']}", err=True)


@ledger_group.command("checkpoint")
@click.option("--out", type=FILE_PATH, default=None,
              help="Also write the signed note to FILE (for witnesses).")
@click.option("--witness", "witnesses", multiple=True, metavar="URL",
              help="Publish the note to a witness: file:PATH, http(s)://…, "
                   "mqtt://HOST:PORT/TOPIC (retained) or nats://HOST:PORT/SUBJECT. Repeatable.")
@data_option
@historian_option
def checkpoint_command(out: Path | None, witnesses: tuple[str, ...], data_dir: Path,
                       historian_url: str | None) -> None:
    """Sign a tree head for the stored log with the gateway key in DATA/identity, store it,
    print it and hand it to each witness (refused if the log no longer matches the last
    signed tree head)."""
    try:
        for url in witnesses:
            Witness.parse(url)
    except WitnessError as exc:
        raise click.ClickException(str(exc)) from exc
    vkey = data_dir / "identity" / VKEY_FILE
    if not vkey.is_file():
        raise click.ClickException(f"no gateway identity in {vkey.parent}")
    identity = GatewayIdentity.load_or_create(vkey.parent, _parse_key(str(vkey)).name)
    historian = _open(data_dir, historian_url)
    try:
        log = stored_log(historian)
        stored = historian.ledger_checkpoints()
        if stored:
            last = Checkpoint.open(stored[-1].note, [identity.verifier])
            if last.size > log.size or log.root(last.size) != last.root:
                raise click.ClickException(f"the stored log does not extend the checkpoint of "
                                           f"size {last.size}; run 'isthmus ledger verify'")
        head = Checkpoint.create(identity.gateway_id, log.size, log.root(), timestamp_ns=now_ns())
        note = head.sign([identity.signer])
        historian.add_checkpoint(head.size, note)
    except (IntegrityError, HistorianError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        historian.close()
    click.echo(note, nl=False)
    if out is not None:
        out.write_text(note)
        click.echo(f"written to {out}", err=True)
    for url in witnesses:
        try:
            publish_checkpoint(note, url)
        except WitnessError as exc:
            raise click.ClickException(f"checkpoint of size {head.size} stored, but not "
                                       f"exported: {exc}") from exc
        click.echo(f"published to {url}", err=True)
