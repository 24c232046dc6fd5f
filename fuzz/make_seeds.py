#!/usr/bin/env python3
"""Writes the committed seed corpora under fuzz/seeds/ from the repository's fixtures.

message_decode: every example of tests/fixtures/schemas/publish-all.jsonl and every fedora-messaging
    recording in tests/fixtures/packit/, in the target's input layout (see fuzz_targets/message_decode.rs),
    plus one seed for each Bodhi update topic the fixtures lack and the envelope's refusal paths.
packit_yaml: the .packit.yaml texts of seeds_packit_yaml.txt (configs from the parser's tests and the
    integration tests), one file each.
xmlrpc_response: replies shaped like the fake Koji hub's (tests/it/support/fake_koji), written with
    Python's own xmlrpc marshaller, which is what the Koji hub uses (plus koji's <i8> extension).

Run from anywhere: python3 fuzz/make_seeds.py. The output is deterministic; rerunning rewrites the seeds.
"""

import hashlib
import json
import pathlib
import re
import shutil
import struct
import xmlrpc.client

FUZZ = pathlib.Path(__file__).resolve().parent
REPO = FUZZ.parent
SEEDS = FUZZ / "seeds"
PREFIX = "org.fedoraproject.prod."


def target_topics():
    """The TOPICS table of fuzz_targets/message_decode.rs, in its order: the selector byte is the index."""
    source = (FUZZ / "fuzz_targets/message_decode.rs").read_text()
    table = source[source.index("const TOPICS"):]
    table = table[: table.index("];")]
    topics = re.findall(r'\(\s*"([^"]*)",', table)
    if "pagure.git.receive" not in topics or "bodhi.update.comment" not in topics:
        raise SystemExit(f"cannot read the TOPICS table of message_decode.rs: {topics}")
    return topics


TOPICS = target_topics()
RAW_ROUTING_KEY = len(TOPICS)


def message_input(topic, headers, body, flags=0):
    """One message_decode input: selector, flags, raw routing key, headers JSON, body."""
    if topic.startswith(PREFIX) and topic[len(PREFIX):] in TOPICS:
        selector, raw = TOPICS.index(topic[len(PREFIX):]), b""
    else:
        selector, raw = RAW_ROUTING_KEY, topic.encode()[:255]
    header_bytes = json.dumps(headers, separators=(",", ":"), sort_keys=True).encode()
    body_bytes = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    return (
        bytes([selector, flags, len(raw)]) + raw + struct.pack("<H", len(header_bytes)) + header_bytes + body_bytes
    )


def message_seeds():
    seeds = []
    for line in (REPO / "tests/fixtures/schemas/publish-all.jsonl").read_text().splitlines():
        message = json.loads(line)
        seeds.append(message_input(message["topic"], message["headers"], message["body"]))
    for path in sorted((REPO / "tests/fixtures/packit").glob("*.json")):
        message = json.loads(path.read_text())
        if {"topic", "headers", "body"} <= message.keys():
            seeds.append(message_input(message["topic"], message["headers"], message["body"]))
        else:  # a bare fedmsg-era body that names its topic, kept as a legacy {"msg": ...} wrapper
            seeds.append(message_input(message["topic"], {}, {"msg": message}))
    bodhi = json.loads((REPO / "tests/fixtures/schemas/bodhi-messages/bodhi.update.complete.stable.json").read_text())
    example = bodhi["examples"][0]
    for topic in TOPICS:
        if topic.startswith("bodhi.update.") and topic not in ("bodhi.update.complete.stable",):
            seeds.append(message_input(PREFIX + topic, example["headers"], example["body"]))
    # The envelope's refusals: no id, blank id, body over the small limit, not UTF-8, not JSON, not an
    # object; a foreign prefix; an empty prefix.
    seeds.append(message_input(PREFIX + "buildsys.tag", {}, {"tag": "f42"}, flags=0b01))
    seeds.append(message_input(PREFIX + "buildsys.tag", {}, {"tag": "f42"}, flags=0b10))
    seeds.append(message_input(PREFIX + "buildsys.tag", {}, {"tag": "x" * 80}, flags=0b1000))
    seeds.append(message_input(PREFIX + "buildsys.tag", {}, b"{\"tag\": \"\xff\"}"))
    seeds.append(message_input(PREFIX + "buildsys.tag", {}, b"{\"tag\": "))
    seeds.append(message_input(PREFIX + "buildsys.tag", {}, [1, 2]))
    seeds.append(message_input("org.fedoraproject.stg.buildsys.tag", {"fedora_messaging_severity": "30"}, {}))
    seeds.append(message_input(PREFIX + "git.receive", {"sent-at": "2019-07-30T19:12:22+00:00"}, {}, flags=0b100))
    return seeds


def packit_seeds():
    """Configs separated by lines of `=====` in seeds_packit_yaml.txt."""
    text = (FUZZ / "seeds_packit_yaml.txt").read_text()
    return [part.lstrip("\n").encode() for part in text.split("\n=====\n") if part.strip()]


def koji_time(ts):
    import datetime

    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


def build(build_id=2712345, state=1, task_id=134567890, original_url=True):
    nvr = ("python-requests", "2.32.3", "4.fc43")
    return {
        "id": build_id, "build_id": build_id, "package_id": 1345, "package_name": nvr[0], "name": nvr[0],
        "version": nvr[1], "release": nvr[2], "epoch": None, "nvr": "-".join(nvr), "draft": False,
        "state": state, "task_id": task_id, "owner_id": 4242, "owner_name": "fedflow-bot", "volume_id": 0,
        "volume_name": "DEFAULT", "creation_event_id": 140000000 + build_id,
        "creation_time": koji_time(1767225600.5), "creation_ts": 1767225600.5,
        "completion_time": koji_time(1767229200.25) if state == 1 else None,
        "completion_ts": 1767229200.25 if state == 1 else None, "promotion_time": None,
        "source": "git+https://src.fedoraproject.org/rpms/python-requests.git#0123456789abcdef0123456789abcdef01234567",
        "extra": {"source": {"original_url": "git+https://src.fedoraproject.org/rpms/python-requests.git#rawhide"}}
        if original_url else None,
        "cg_id": None, "cg_name": None,
    }


def task(task_id=134567890, state=2, decoded=True):
    request = ["git+https://src.fedoraproject.org/rpms/python-requests.git#0123456789abcdef", "rawhide", {}]
    return {
        "id": task_id, "state": state, "create_time": koji_time(1767225600.5), "create_ts": 1767225600.5,
        "start_time": None, "start_ts": None, "completion_time": koji_time(1767229200.25),
        "completion_ts": 1767229200.25, "channel_id": 1, "host_id": None, "parent": None, "label": None,
        "waiting": None, "awaited": None, "owner": 4242, "method": "build", "arch": "noarch", "priority": 20,
        "weight": 0.2,
        "request": request if decoded else xmlrpc.client.dumps(tuple(request), allow_none=True),
    }


def response(value):
    return xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True)


def xmlrpc_seeds():
    tags = [{"arches": None, "id": 65870, "locked": False, "maven_include_all": False, "maven_support": False,
             "name": "f43-updates-candidate", "perm": "autosign", "perm_id": 10}]
    target = {"build_tag": 83915, "build_tag_name": "f44-build", "dest_tag": 83913,
              "dest_tag_name": "f44-updates-candidate", "id": 4321, "name": "rawhide"}
    changelog = {"changelogtime": [1709640000, "I8:4102488000"],
                 "changelogname": ["Jane Doe <jane@example.org> - 1.2-1", "John Roe <john@example.org> - 1.1-1"],
                 "changelogtext": ["- Update to 1.2\n- Fixes rhbz#2345678", "- Update to 1.1"]}
    replies = [
        response(build()),
        response(None),
        response([build(), build(2712346, 0, None, original_url=False)]),
        response(task()),
        response([task(), task(134567891, 0, decoded=False)]),
        response(target),
        response(tags),
        response(134567890),
        response([{"id": 987654, "arch": "src"}]),
        response(changelog),
        response({}),
        xmlrpc.client.dumps(xmlrpc.client.Fault(1000, "GenericError: No such build: 'nope-1-1'"),
                            methodresponse=True),
        xmlrpc.client.dumps(xmlrpc.client.Fault(5, "AuthError: could not verify session"), methodresponse=True),
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
    ]
    encoded = []
    for reply in replies:
        # koji's xmlrpcplus writes integers beyond 32 bits as <i8>; Python's marshaller refuses them.
        encoded.append(reply.replace("<string>I8:4102488000</string>", "<i8>4102488000</i8>").encode())
    return encoded


def write(target, seeds):
    directory = SEEDS / target
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for seed in seeds:
        (directory / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    print(f"{target}: {len(seeds)} seeds, {sum(map(len, seeds))} bytes")


def main():
    write("message_decode", message_seeds())
    write("packit_yaml", packit_seeds())
    write("xmlrpc_response", xmlrpc_seeds())


if __name__ == "__main__":
    main()
