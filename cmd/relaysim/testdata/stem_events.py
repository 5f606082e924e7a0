"""Follows relaysim's events through stem as a relay's controller would.

Usage: stem_events.py PORT SECONDS

Authenticates with what relaysim offers (its cookie), listens for BW and
ORCONN events for SECONDS, and after each BW event reads traffic/read,
traffic/written and conn/all, noting the wall-clock second of the event's
arrival and of the readings. Then asks stem's own views of the relay:
get_circuits, get_listeners, get_conf and get_effective_rate. Prints one
JSON object for the Go test to judge.
"""
import json
import queue
import sys
import time

import stem.control
from stem.control import EventType, Listener


def main():
    port, seconds = int(sys.argv[1]), float(sys.argv[2])
    events = queue.Queue()
    out = {"stem_version": stem.__version__, "bw": [], "orconn": [], "errors": []}
    with stem.control.Controller.from_port(address="127.0.0.1", port=port) as c:
        c.authenticate()
        # Handlers only queue: the main thread asks the control port.
        c.add_event_listener(lambda e: events.put(("bw", e, time.time())), EventType.BW)
        c.add_event_listener(lambda e: events.put(("orconn", e, time.time())), EventType.ORCONN)
        end = time.time() + seconds
        while time.time() < end:
            try:
                kind, e, arrived = events.get(timeout=1)
            except queue.Empty:
                continue
            if kind == "orconn":
                out["orconn"].append({"id": e.id, "status": e.status, "endpoint": e.endpoint,
                                      "arrived": arrived, "raw": str(e)})
                continue
            read, written = int(c.get_info("traffic/read")), int(c.get_info("traffic/written"))
            conn_all = c.get_info("conn/all")
            out["bw"].append({"read": e.read, "written": e.written, "arrived": arrived,
                              "traffic_read": read, "traffic_written": written,
                              "conn_all": conn_all, "asked": time.time()})
        out["circuits"] = [{"id": x.id, "status": x.status, "path": [list(p) for p in x.path],
                            "purpose": x.purpose, "created": x.created.isoformat() if x.created else None}
                           for x in c.get_circuits()]
        out["listeners"] = {k: [list(a) for a in c.get_listeners(v)] for k, v in
                            (("or", Listener.OR), ("dir", Listener.DIR), ("control", Listener.CONTROL))}
        out["conf"] = {k: c.get_conf(k, multiple=True) for k in ("Nickname", "ORPort", "ExitPolicy", "BandwidthRate")}
        out["rate"] = [c.get_effective_rate(), c.get_effective_rate(burst=True)]
        out["fingerprint"] = c.get_info("fingerprint")
        out["own_entry"] = str(c.get_network_status().nickname)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
