"""Opening a device's serial port: by path or pyserial URL, or 'auto' for a known board."""

from __future__ import annotations

from collections.abc import Callable


def port_opener(port: str, baud: int | None, board_name: str | None = None) -> tuple[str, Callable[[], object], object]:
    """(port, a function that opens it, the board found or named).

    'auto' finds a known board by its USB ID. The speed is ``baud`` if given,
    else the board's (a QuickFeather's hardware UART runs at the SDK's 460800,
    for example), else 115200; USB serial ports ignore it.
    """
    import serial

    from ..boards import get_board, load_boards

    board = get_board(board_name) if board_name else None
    if port == "auto":
        from .monitor import find_board_port

        port, board = find_board_port(load_boards().values())
    if baud is None:
        baud = int(board.options.get("baud", 115200)) if board else 115200  # type: ignore[union-attr]

    def opener():
        return serial.serial_for_url(port, baudrate=baud, timeout=0.1)

    return port, opener, board
