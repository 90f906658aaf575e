"""A python-socketio 5.x client, as a Python integration writes one, driven by
tests/protocol/python-client.test.mjs: connects to URL with auth={'token': TOKEN} over the one
transport given, and prints one JSON line per thing that happens, flushed at once:
{"connected": transport}, {"event": name, "args": [...]} for every event,
{"connect_error": data}, {"disconnected": reason}. Runs until its standard input closes.

    client.py URL TOKEN polling|websocket
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
    url, token, transport = sys.argv[1:4]
    sio = socketio.Client(reconnection=False)

    @sio.event
    def connect():
        say(connected=sio.transport())

    @sio.event
    def connect_error(data):
        say(connect_error=data)

    @sio.event
    def disconnect(reason=None):
        say(disconnected=str(reason))

    @sio.on("*")
    def any_event(event, *args):
        say(event=event, args=list(args))

    try:
        sio.connect(url, auth={"token": token}, transports=[transport], wait_timeout=10)
    except socketio.exceptions.ConnectionError as error:
        say(connect_failed=str(error))
        return 1
    sys.stdin.read()
    sio.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
