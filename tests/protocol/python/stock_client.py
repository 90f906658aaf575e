"""A python-socketio 5.x client as an integration writes one, with the library's defaults
(automatic reconnection, polling then the upgrade) and one static token, driven by
tests/protocol/python-stock.test.mjs. Prints one JSON line per thing that happens, flushed at
once: {"connected": transport}, {"checkin": id, "seq": seq} for each appointments.checkin,
{"disconnected": reason}. Runs until its standard input closes.

    stock_client.py URL TOKEN
"""

import json
import sys
import threading

import socketio


# Handlers run on python-socketio's threads: one whole line at a time.
_out = threading.Lock()


def say(**line):
    with _out:
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()


def main():
    url, token = sys.argv[1:3]
    sio = socketio.Client(reconnection_delay=0.2, reconnection_delay_max=1)

    @sio.event
    def connect():
        say(connected=sio.transport())

    @sio.event
    def disconnect(reason=None):
        say(disconnected=str(reason))

    @sio.on("appointments.checkin")
    def checkin(appointment, meta, *rest):
        say(checkin=appointment["id"], seq=meta["seq"])

    sio.connect(url, auth={"token": token}, wait_timeout=10, retry=True)
    sys.stdin.read()
    sio.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
