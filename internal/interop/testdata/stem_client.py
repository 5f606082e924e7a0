"""Drive a tor control port with stem and print what stem saw, as JSON.

Run by stem_test.go with Debian's /usr/bin/python3 (python3-stem 1.8.1):

    stem_client.py PORT AUTH < plan.json

PORT is a TCP port on 127.0.0.1. AUTH is how to authenticate:

    auto        controller.authenticate(), stem picking the method
    password    controller.authenticate(password=$CONNINFO_PASSWORD)
    cookie      stem.connection.authenticate_cookie (plain COOKIE)
    safecookie  stem.connection.authenticate_safecookie

The plan on stdin is a JSON object, every member optional:

    {"keys": [...],            get_info(key) for each key alone
     "multi": [...],           get_info(list): one GETINFO, a dict back
     "unknown": [[...], ...],  get_info(list) expected to raise
     "version": true,          get_version()
     "events": [...],          add_event_listener for these event types
     "api": true}              get_pid(), get_user(), get_uptime()

The result on stdout is a JSON object. A failure of stem is reported in
it, never as a traceback, so that the Go test can say what went wrong;
the exit status is 0 unless the script itself is broken.
"""

import json
import os
import sys

import stem
import stem.connection
import stem.control


def describe(exc):
    """The type and arguments of a stem exception, for the Go test."""
    out = {"type": type(exc).__name__, "args": [str(a) for a in exc.args], "str": str(exc)}
    for attr in ("code", "message", "arguments"):
        if hasattr(exc, attr):
            value = getattr(exc, attr)
            out[attr] = sorted(value) if attr == "arguments" and value is not None else value
    return out


def main():
    port, auth = int(sys.argv[1]), sys.argv[2]
    plan = json.load(sys.stdin)
    result = {"stem_version": stem.__version__}

    with stem.control.Controller.from_port(address="127.0.0.1", port=port) as controller:
        try:
            if auth == "auto":
                controller.authenticate()
            elif auth == "password":
                controller.authenticate(password=os.environ["CONNINFO_PASSWORD"])
            elif auth in ("cookie", "safecookie"):
                pi = stem.connection.get_protocolinfo(controller)
                # stem's AuthMethod values read "Cookie", "Safecookie", ...
                result["auth_methods"] = sorted(str(m) for m in pi.auth_methods)
                result["unknown_auth_methods"] = list(pi.unknown_auth_methods)
                result["cookie_path"] = pi.cookie_path
                if auth == "cookie":
                    stem.connection.authenticate_cookie(controller, pi.cookie_path)
                else:
                    stem.connection.authenticate_safecookie(controller, pi.cookie_path)
            else:
                raise SystemExit("unknown AUTH %r" % auth)
            result["authenticated"] = True
        except stem.connection.AuthenticationFailure as exc:
            result["authenticated"] = False
            result["auth_error"] = describe(exc)
            print(json.dumps(result))
            return

        if plan.get("version"):
            try:
                version = controller.get_version()
                result["version"] = str(version)
                result["version_tuple"] = [version.major, version.minor, version.micro, version.patch]
            except Exception as exc:  # reported to the Go test
                result["version_error"] = describe(exc)

        if plan.get("events"):
            try:
                controller.add_event_listener(lambda event: None, *plan["events"])
                result["events_added"] = True
            except Exception as exc:  # reported to the Go test
                result["events_error"] = describe(exc)

        if plan.get("api"):
            try:
                result["api"] = {
                    "pid": controller.get_pid(),
                    "user": controller.get_user(),
                    "uptime": controller.get_uptime(),
                }
            except Exception as exc:  # reported to the Go test
                result["api_error"] = describe(exc)

        values, errors = {}, {}
        for key in plan.get("keys", []):
            try:
                values[key] = controller.get_info(key)
            except Exception as exc:  # reported to the Go test
                errors[key] = describe(exc)
        result["values"], result["errors"] = values, errors

        if plan.get("multi"):
            try:
                reply = controller.get_info(plan["multi"])
                result["multi_type"] = type(reply).__name__
                result["multi"] = dict(reply)
            except Exception as exc:  # reported to the Go test
                result["multi_error"] = describe(exc)

        unknown = []
        for keys in plan.get("unknown", []):
            try:
                reply = controller.get_info(keys)
                unknown.append({"keys": keys, "reply": dict(reply)})
            except Exception as exc:  # reported to the Go test
                unknown.append({"keys": keys, "error": describe(exc)})
        result["unknown"] = unknown
        result["alive"] = controller.is_alive()

    print(json.dumps(result))


if __name__ == "__main__":
    main()
