# The watchdog and the supervisor: a button that stops working resets itself.
#
# A button has nobody to restart it. Two things can leave it deaf while it still looks powered:
# a task that raised (asyncio.gather passes the exception up and the other loops carry on
# without it, or the whole run() ends), and a loop that stops turning (a task that never yields).
# supervise() runs the firmware beside a task that feeds machine.WDT every WDT_FEED_MS; if the
# firmware's coroutine raises, run_supervised() prints the error and calls machine.reset(), and
# if the loop stops turning the watchdog resets the board after WDT_TIMEOUT_MS. After either
# reset main.py starts again; flash (key, counters) survives, RAM does not.
#
# Deep sleep (device/sleep.py) switches the whole chip off but the RTC: the watchdog does not
# run while a wearable sleeps and is started afresh on every boot, so it never wakes a sleeping
# wearable; it is fed only while the wearable is awake anyway (its session lasts seconds).
import asyncio

from device import timing


async def feed(wdt, clock, every_ms=timing.WDT_FEED_MS):
    """Feed the watchdog from the event loop for as long as the loop turns."""
    while True:
        wdt.feed()
        await clock.sleep_ms(every_ms)


async def supervise(main, wdt, clock):
    """Await the firmware's coroutine with the watchdog fed beside it; its exception, if it
    raises, propagates (the caller resets the board)."""
    feeder = asyncio.create_task(feed(wdt, clock))
    try:
        return await main
    finally:
        feeder.cancel()


def run_supervised(main, board, clock):
    """asyncio.run the firmware's coroutine under the watchdog; reset the board if it fails.
    board is the machine module (WDT, reset)."""
    wdt = board.WDT(timeout=timing.WDT_TIMEOUT_MS)
    try:
        asyncio.run(supervise(main, wdt, clock))
    except Exception as err:  # a task died: its state is unknown, so start clean
        _report(err)
        board.reset()


def _report(err):
    try:
        import sys

        sys.print_exception(err)  # MicroPython
    except AttributeError:
        print("firmware failed:", repr(err))
