#!/usr/bin/env python3
"""gen_proto.py: writes samsa's message descriptions (lib/proto/msg_*.{c,h}).

Reads Apache Kafka's JSON message definitions from a directory the caller
names (they are not part of samsa), applies the version changes Kafka made
after those files (listed below in CHANGES), keeps only the versions samsa
speaks (APIS), and writes for each API one header with the C structs and one
source file with the field tables that lib/proto/codec.c walks.

    python3 tools/gen_proto.py KAFKA_MESSAGE_DIR lib/proto

The generated files are committed, since building samsa must not need the
definitions.
"""
import json
import os
import re
import sys

# The APIs samsa speaks and the versions of each (Kafka 4.3's ranges).
APIS = [
    ("Produce", 0, 3, 13),
    ("Fetch", 1, 4, 18),
    ("ListOffsets", 2, 1, 11),
    ("Metadata", 3, 0, 13),
    ("OffsetCommit", 8, 2, 10),
    ("OffsetFetch", 9, 1, 10),
    ("FindCoordinator", 10, 0, 6),
    ("JoinGroup", 11, 0, 9),
    ("Heartbeat", 12, 0, 4),
    ("LeaveGroup", 13, 0, 5),
    ("SyncGroup", 14, 0, 5),
    ("DescribeGroups", 15, 0, 6),
    ("ListGroups", 16, 0, 5),
    ("SaslHandshake", 17, 0, 1),
    ("ApiVersions", 18, 0, 4),
    ("CreateTopics", 19, 2, 7),
    ("DeleteTopics", 20, 1, 6),
    ("DeleteRecords", 21, 0, 2),
    ("InitProducerId", 22, 0, 5),
    ("OffsetForLeaderEpoch", 23, 2, 4),
    ("DescribeConfigs", 32, 1, 4),
    ("SaslAuthenticate", 36, 0, 2),
    ("CreatePartitions", 37, 0, 3),
    ("DescribeCluster", 60, 0, 2),
]

# Changes in Kafka's later releases, up to 4.3, that the definitions read
# here predate. Each entry: message name -> list of edits:
#   ("valid", "a-b")                              the message's new version range
#   ("versions", "Path.To.Field", "a-b")          narrow a field's versions
#   ("add", "Path.To.Struct", "AfterField", {...}) add a field after another
#     ("" as the struct path is the message itself; None as AfterField
#      puts the field first)
TOPIC_ID = {"name": "TopicId", "type": "uuid", "versions": "%s", "ignorable": True}

CHANGES = {
    # Produce v12 changes no field (KIP-890); v13 names topics by id (KIP-516).
    "ProduceRequest": [("valid", "0-13"), ("versions", "TopicData.Name", "0-12"),
                       ("add", "TopicData", "Name", dict(TOPIC_ID, versions="13+"))],
    "ProduceResponse": [("valid", "0-13"), ("versions", "Responses.Name", "0-12"),
                        ("add", "Responses", "Name", dict(TOPIC_ID, versions="13+"))],
    # Fetch v18 lets a follower send its high watermark (KIP-1166).
    "FetchRequest": [("valid", "0-18"),
                     ("add", "Topics.Partitions", "ReplicaDirectoryId",
                      {"name": "HighWatermark", "type": "int64", "versions": "18+",
                       "default": "9223372036854775807", "taggedVersions": "18+", "tag": 1,
                       "ignorable": True})],
    "FetchResponse": [("valid", "0-18")],
    # ListOffsets v11 adds a special timestamp (-6), no field (KIP-1023).
    "ListOffsetsRequest": [("valid", "0-11")],
    "ListOffsetsResponse": [("valid", "0-11")],
    # Metadata v13 adds a top-level error code (KIP-1102).
    "MetadataRequest": [("valid", "0-13")],
    "MetadataResponse": [("valid", "0-13"),
                         ("add", "", "ClusterAuthorizedOperations",
                          {"name": "ErrorCode", "type": "int16", "versions": "13+", "ignorable": True})],
    # OffsetCommit and OffsetFetch v10 name topics by id (KIP-848).
    "OffsetCommitRequest": [("valid", "0-10"), ("versions", "Topics.Name", "0-9"),
                            ("add", "Topics", "Name", dict(TOPIC_ID, versions="10+"))],
    "OffsetCommitResponse": [("valid", "0-10"), ("versions", "Topics.Name", "0-9"),
                             ("add", "Topics", "Name", dict(TOPIC_ID, versions="10+"))],
    "OffsetFetchRequest": [("valid", "0-10"), ("versions", "Groups.Topics.Name", "8-9"),
                           ("add", "Groups.Topics", "Name", dict(TOPIC_ID, versions="10+"))],
    "OffsetFetchResponse": [("valid", "0-10"), ("versions", "Groups.Topics.Name", "8-9"),
                            ("add", "Groups.Topics", "Name", dict(TOPIC_ID, versions="10+"))],
    # DescribeGroups v6 adds a per-group error message (KIP-1043).
    "DescribeGroupsRequest": [("valid", "0-6")],
    "DescribeGroupsResponse": [("valid", "0-6"),
                               ("add", "Groups", "ErrorCode",
                                {"name": "ErrorMessage", "type": "string", "versions": "6+",
                                 "nullableVersions": "6+", "default": "null"})],
    # DescribeCluster v2 can list fenced brokers (KIP-1073).
    "DescribeClusterRequest": [("valid", "0-2"),
                               ("add", "", "EndpointType",
                                {"name": "IncludeFencedBrokers", "type": "bool", "versions": "2+",
                                 "default": "false"})],
    "DescribeClusterResponse": [("valid", "0-2"),
                                ("add", "Brokers", "Rack",
                                 {"name": "IsFenced", "type": "bool", "versions": "2+",
                                  "default": "false"})],
}

# Messages that also have a hand-written decoder, and its file.
FAST_DECODERS = {"produce_request": "lib/proto/produce_fast.c"}

MAX_VERSION = 0x7FFF
C_KEYWORDS = {"default", "int", "char", "long", "short", "signed", "unsigned", "struct", "union",
              "register", "static", "const", "volatile", "auto", "extern", "break", "case",
              "continue", "do", "else", "for", "goto", "if", "return", "sizeof", "switch",
              "typedef", "void", "while", "enum", "float", "double", "inline", "restrict", "bool"}


def snake(name):
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = s.lower()
    return s + "_" if s in C_KEYWORDS else s


def parse_versions(spec):
    """'3+' -> (3, MAX); '1-4' -> (1, 4); '7' -> (7, 7); 'none' -> None."""
    if spec is None or spec == "none":
        return None
    if spec.endswith("+"):
        return int(spec[:-1]), MAX_VERSION
    if "-" in spec:
        a, b = spec.split("-")
        return int(a), int(b)
    return int(spec), int(spec)


def intersect(a, b):
    if a is None or b is None:
        return None
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return (lo, hi) if lo <= hi else None


def load(path):
    with open(path) as f:
        text = f.read()
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    return json.loads(text)


def find_struct(fields, path):
    """The field list of the struct at a dotted path of field names."""
    for part in [p for p in path.split(".") if p]:
        for f in fields:
            if f["name"] == part:
                fields = f["fields"]
                break
        else:
            raise SystemExit("change names unknown struct path %r" % path)
    return fields


def apply_changes(msg):
    for edit in CHANGES.get(msg["name"], []):
        kind = edit[0]
        if kind == "valid":
            msg["validVersions"] = edit[1]
        elif kind == "versions":
            path, versions = edit[1], edit[2]
            parent, _, name = path.rpartition(".")
            for f in find_struct(msg["fields"], parent):
                if f["name"] == name:
                    f["versions"] = versions
                    break
            else:
                raise SystemExit("change names unknown field %r in %s" % (path, msg["name"]))
        elif kind == "add":
            path, after, field = edit[1], edit[2], edit[3]
            fields = find_struct(msg["fields"], path)
            if after is None:
                fields.insert(0, field)
            else:
                names = [f["name"] for f in fields]
                fields.insert(names.index(after) + 1, field)
        else:
            raise SystemExit("unknown change %r" % (kind,))


PRIMITIVES = {
    "bool": ("PT_BOOL", "bool"),
    "int8": ("PT_INT8", "int8_t"),
    "int16": ("PT_INT16", "int16_t"),
    "uint16": ("PT_UINT16", "uint16_t"),
    "int32": ("PT_INT32", "int32_t"),
    "uint32": ("PT_UINT32", "uint32_t"),
    "int64": ("PT_INT64", "int64_t"),
    "float64": ("PT_FLOAT64", "double"),
    "uuid": ("PT_UUID", "proto_uuid_t"),
    "string": ("PT_STRING", "proto_str_t"),
    "bytes": ("PT_BYTES", "proto_bytes_t"),
    "records": ("PT_RECORDS", "proto_records_t"),
}


class Gen:
    def __init__(self, msg, api_range, prefix):
        self.msg = msg
        self.range = api_range
        self.prefix = prefix  # e.g. produce_request
        self.structs = []  # (c_name, kafka_name, [fields]) in dependency order
        self.common = {c["name"]: c["fields"] for c in msg.get("commonStructs", [])}
        self.seen = {}

    def struct_cname(self, kafka_name):
        return "%s_%s" % (self.prefix, snake(kafka_name))

    def visit(self, kafka_name, fields, top=False):
        """Collects a struct and, first, the structs it holds."""
        cname = self.prefix if top else self.struct_cname(kafka_name)
        if cname in self.seen:
            if json.dumps(self.seen[cname]) != json.dumps(fields):
                raise SystemExit("%s: two different structs named %s" % (self.msg["name"], kafka_name))
            return cname
        self.seen[cname] = fields
        kept = []
        for f in fields:
            vers = intersect(parse_versions(f["versions"]), self.range)
            if vers is None:
                continue
            ftype = f["type"]
            is_array = ftype.startswith("[]")
            elem = ftype[2:] if is_array else ftype
            sub = None
            if elem not in PRIMITIVES:
                sub_fields = f.get("fields") or self.common.get(elem)
                if sub_fields is None:
                    raise SystemExit("%s: no definition of struct %s" % (self.msg["name"], elem))
                if not is_array and f.get("nullableVersions"):
                    raise SystemExit("%s: nullable struct %s is not supported" % (self.msg["name"], f["name"]))
                sub = self.visit(elem, sub_fields)
            kept.append((f, vers, is_array, elem, sub))
        self.structs.append((cname, kafka_name, kept))
        return cname

    def c_type(self, elem, sub):
        return sub + "_t" if sub else PRIMITIVES[elem][1]

    def header(self):
        out = []
        for cname, kafka_name, fields in self.structs:
            out.append("typedef struct %s {" % cname)
            if not fields:
                out.append("    char unused_; /* no fields in the versions samsa speaks */")
            for f, vers, is_array, elem, sub in fields:
                name = snake(f["name"])
                ctype = self.c_type(elem, sub)
                note = self.version_note(f, vers)
                if is_array:
                    out.append("    %s *%s; /* %s */" % (ctype, name, note))
                    out.append("    int32_t %s_count; /* -1 when null */" % name)
                else:
                    out.append("    %s %s; /* %s */" % (ctype, name, note))
            out.append("} %s_t;" % cname)
            out.append("")
        out.append("extern const proto_struct_t %s_desc;" % self.prefix)
        if self.prefix in FAST_DECODERS:
            out.append("")
            pad = " " * (len(self.prefix) + 20)
            out.append("/* Hand-written decoder and encoder, used by proto_decode and proto_encode")
            out.append(" * (see %s). */" % FAST_DECODERS[self.prefix])
            out.append("samsa_err_t %s_decode(reader_t *r, int16_t version, bool flexible, arena_t *arena,"
                       % self.prefix)
            out.append("%s%s_t *out);" % (pad, self.prefix))
            out.append("samsa_err_t %s_encode(const %s_t *msg, int16_t version, bool flexible,"
                       % (self.prefix, self.prefix))
            out.append("%sbuf_t *out, proto_splices_t *splices);" % pad)
        return out

    def version_note(self, f, vers):
        lo, hi = vers
        s = "v%d+" % lo if hi >= self.range[1] else "v%d-%d" % (lo, hi)
        nul = parse_versions(f.get("nullableVersions"))
        if nul:
            s += ", nullable"
        if "tag" in f:
            s += ", tag %d" % f["tag"]
        return s

    def default(self, f, elem, is_array):
        d = f.get("default")
        default_null = d == "null"
        if default_null and not (is_array or elem in ("string", "bytes", "records")):
            raise SystemExit("%s.%s: null default on %s" % (self.msg["name"], f["name"], elem))
        if d is None or default_null or is_array or elem not in PRIMITIVES:
            return 0, default_null
        if elem == "bool":
            return (1 if d in (True, "true") else 0), False
        if elem in ("string", "bytes", "records", "uuid"):
            if d not in ("",):
                raise SystemExit("%s.%s: unsupported default %r" % (self.msg["name"], f["name"], d))
            return 0, False
        if elem == "float64":
            return int(float(d)), False
        return int(str(d), 0), False

    def source(self):
        out = []
        for cname, kafka_name, fields in self.structs:
            regular = [x for x in fields if "tag" not in x[0]]
            tagged = sorted([x for x in fields if "tag" in x[0]], key=lambda x: x[0]["tag"])
            rows = []
            for f, vers, is_array, elem, sub in regular + tagged:
                ptype = "PT_STRUCT" if sub else PRIMITIVES[elem][0]
                if is_array:
                    ptype += " | PT_ARRAY"
                lo, hi = vers
                if "tag" in f:
                    tv = intersect(vers, parse_versions(f["taggedVersions"]))
                    if tv is None:
                        continue
                    lo, hi = tv
                nul = intersect(parse_versions(f.get("nullableVersions")), (lo, hi))
                nlo, nhi = nul if nul else ("PROTO_NEVER_MIN", "PROTO_NEVER_MAX")
                dint, dnull = self.default(f, elem, is_array)
                name = snake(f["name"])
                count_off = "offsetof(%s_t, %s_count)" % (cname, name) if is_array else "0"
                rows.append('    {"%s", %s, %d, %d, %s, %s, %d, offsetof(%s_t, %s), %s, %s, %dLL, %s},'
                            % (f["name"], ptype, lo, hi, nlo, nhi, f.get("tag", -1), cname, name,
                               count_off, "&%s_desc" % sub if sub else "NULL", dint,
                               "true" if dnull else "false"))
            if rows:
                out.append("static const proto_field_t %s_fields[] = {" % cname)
                out.extend(rows)
                out.append("};")
            out.append('%sconst proto_struct_t %s_desc = {"%s", sizeof(%s_t), %d, %s};'
                       % ("" if cname == self.prefix else "static ", cname, kafka_name, cname,
                          len(rows), "%s_fields" % cname if rows else "NULL"))
            out.append("")
        return out


NOTICE = """/*
 * Generated by tools/gen_proto.py from Apache Kafka's JSON message
 * definitions, which are not part of samsa, and the version changes the
 * script lists; the build cannot regenerate it, so it is committed.
 * Do not edit: change the script and run it again.
 */"""


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    api_rows = []
    names = []
    for name, key, lo, hi in APIS:
        file_base = snake(name)
        hdr, body = [], []
        flex = None
        for kind in ("Request", "Response"):
            msg = load(os.path.join(src, name + kind + ".json"))
            apply_changes(msg)
            if msg["apiKey"] != key:
                raise SystemExit("%s%s has key %d" % (name, kind, msg["apiKey"]))
            valid = parse_versions(msg["validVersions"])
            if valid[0] > lo or valid[1] < hi:
                raise SystemExit("%s%s: versions %s do not cover %d-%d"
                                 % (name, kind, msg["validVersions"], lo, hi))
            f = parse_versions(msg["flexibleVersions"])
            flex = f[0] if f else None
            g = Gen(msg, (lo, hi), "%s_%s" % (file_base, kind.lower()))
            g.visit(name + kind, msg["fields"], top=True)
            hdr += g.header() + [""]
            body += g.source()
        guard = "SAMSA_PROTO_MSG_%s_H" % file_base.upper()
        with open(os.path.join(dst, "msg_%s.h" % file_base), "w") as out:
            out.write(NOTICE + "\n")
            out.write("/* %s (API key %d), versions %d-%d. */\n" % (name, key, lo, hi))
            out.write("#ifndef %s\n#define %s\n\n#include \"proto/codec.h\"\n\n" % (guard, guard))
            out.write("\n".join(hdr).rstrip() + "\n\n#endif\n")
        with open(os.path.join(dst, "msg_%s.c" % file_base), "w") as out:
            out.write(NOTICE + "\n")
            out.write("#include \"proto/msg_%s.h\"\n\n#include <stddef.h>\n\n" % file_base)
            out.write("\n".join(body).rstrip() + "\n")
        names.append(file_base)
        api_rows.append('    {%d, "%s", %d, %d, %s, &%s_request_desc, &%s_response_desc},'
                        % (key, name, lo, hi, flex if flex is not None else "PROTO_NEVER_MIN",
                           file_base, file_base))
    with open(os.path.join(dst, "messages.h"), "w") as out:
        out.write(NOTICE + "\n")
        out.write("/* Every message samsa speaks; see proto/codec.h. */\n")
        out.write("#ifndef SAMSA_PROTO_MESSAGES_H\n#define SAMSA_PROTO_MESSAGES_H\n\n")
        for n in names:
            out.write("#include \"proto/msg_%s.h\"\n" % n)
        out.write("\nenum proto_api_key {\n")
        for name, key, lo, hi in APIS:
            out.write("    API_%s = %d,\n" % (snake(name).upper(), key))
        out.write("};\n\n#endif\n")
    with open(os.path.join(dst, "apis.c"), "w") as out:
        out.write(NOTICE + "\n")
        out.write("#include \"proto/messages.h\"\n\n")
        out.write("static const proto_api_t apis[] = {\n%s\n};\n\n" % "\n".join(api_rows))
        out.write("""const proto_api_t *proto_apis(size_t *count)
{
    *count = sizeof(apis) / sizeof(apis[0]);
    return apis;
}

const proto_api_t *proto_api(int16_t api_key)
{
    size_t lo = 0, hi = sizeof(apis) / sizeof(apis[0]);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (apis[mid].key == api_key)
            return &apis[mid];
        if (apis[mid].key < api_key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
""")


if __name__ == "__main__":
    main()
