"""Training commands: pretrain, train, test."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import KwsgenError
from .main import app, console


@app.command()
def pretrain(
    data: list[Path] = typer.Option(
        ...,
        "--data",
        help="Folders in Speech Commands layout: one folder per word, "
        "_unknown_, _silence_, _background_noise_ (repeatable).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the base model (weights, metadata, model card)."),
    template: str = typer.Option("kws25k", "--template", "-t", help="kws10k, kws25k or kws50k."),
    extra_words: list[Path] = typer.Option(
        [], "--extra-words", help="Folders of other words: all become 'unknown' (repeatable)."
    ),
    noise: list[Path] = typer.Option(
        [], "--noise", help="Folders of long noise recordings for augmentation and 'silence' (repeatable)."
    ),
    words: str = typer.Option("yes,no,up,down,left,right,on,off,stop,go", "--words", help="The command words."),
    epochs: int = typer.Option(100, "--epochs"),
    per_class: int = typer.Option(400, "--per-class", help="Augmented training inputs per class and epoch."),
    held_out: int = typer.Option(30, "--held-out-percent", help="Speakers kept out of pretraining, for the card."),
    seed: int = typer.Option(1, "--seed"),
) -> None:
    """Pretrain a base model on real speech, split by speaker, and write its model card.

    Every clip is augmented each epoch (time shift, gain, speed, background
    noise at 0-20 dB SNR) and the best epoch on validation speakers is kept;
    the card reports accuracy on held-out speakers, float and int8.
    """
    from ..train.pretrain import PretrainConfig
    from ..train.pretrain import pretrain as run

    if epochs < 1 or per_class < 1 or not 0 < held_out < 100:
        raise KwsgenError("--epochs and --per-class must be positive and --held-out-percent within 1..99")
    cfg = PretrainConfig(
        template=template,
        words=tuple(w.strip() for w in words.split(",") if w.strip()),
        epochs=epochs,
        per_class=per_class,
        held_out_percent=held_out,
        seed=seed,
    )
    card = run(data, out, cfg, extra_words, noise, log=console.print)
    console.print(f"wrote {out}: held-out accuracy {card['held_out_accuracy_int8']:.3f} int8")
