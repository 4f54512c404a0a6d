"""Open311 conformance of a live Gridline server (run by scripts/test-open311).

1. Every JSON answer of the read endpoints, and of POST requests, is validated against the
   official GeoReport v2 JSON Schemas (server/tests/open311-schema, from open311/schema-validation)
   with the `jsonschema` package; the validator is shown to be not vacuous on the spec's own
   example payloads (valid) and on broken copies of them (invalid).
2. A third-party Open311 client library from PyPI (`georeport`) drives the read endpoints in
   XML and in JSON, and must read the same services, definitions and requests from both.

Usage: open311_conformance.py BASE_URL API_KEY JURISDICTION
"""

import json
import pathlib
import sys
import urllib.error
import urllib.parse
import urllib.request

import georeport
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SCHEMAS = pathlib.Path(__file__).parent / "open311-schema"
BASE, KEY, JURISDICTION = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
ENDPOINT = f"{BASE}/open311/v2"
checks = 0


def schema(name):
    return json.loads((SCHEMAS / name).read_text())


REGISTRY = Registry().with_resources(
    (name, Resource(contents=schema(name), specification=DRAFT4))
    for name in ["request.json", "requests.json", "service.json", "services.json",
                 "service-definition.json"]
)
SWAGGER = schema("swagger.json")


def validator(name_or_schema):
    s = schema(name_or_schema) if isinstance(name_or_schema, str) else name_or_schema
    return jsonschema.Draft4Validator(
        s, registry=REGISTRY, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def valid(name, document, what):
    global checks
    errors = sorted(validator(name).iter_errors(document), key=str)
    assert not errors, f"{what} breaks {name}: {errors[0].message} at {list(errors[0].path)}"
    checks += 1


def invalid(name, document, what):
    global checks
    assert not validator(name).is_valid(document), f"{what} should break {name}"
    checks += 1


def get(path, **params):
    params.setdefault("jurisdiction_id", JURISDICTION)
    url = f"{ENDPOINT}/{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers["content-type"], r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["content-type"], e.read()


def get_json(path, **params):
    status, ctype, body = get(path, **params)
    assert status == 200, f"{path}: {status} {body[:200]!r}"
    assert ctype.startswith("application/json"), ctype
    return json.loads(body)


def post(fields):
    data = urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(
        f"{ENDPOINT}/requests.json", data=data,
        headers={"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


# --- The validator on the spec's own examples (GET services, GET service definition, GET
# requests in the GeoReport v2 text; its JSON shows service codes as bare 001, which is not
# JSON, so they are quoted here as the XML examples have them).
SPEC_SERVICES = [
    {"service_code": "001", "service_name": "Cans left out 24x7",
     "description": "Garbage or recycling cans that have been left out for more than 24 hours "
                    "after collection. Violators will be cited.",
     "metadata": True, "type": "realtime", "keywords": "lorem, ipsum, dolor",
     "group": "sanitation"},
    {"service_code": "002", "metadata": True, "type": "realtime",
     "keywords": "lorem, ipsum, dolor", "group": "street",
     "service_name": "Construction plate shifted",
     "description": "Metal construction plate covering the street or sidewalk has been moved."},
]
SPEC_DEFINITION = {
    "service_code": "DMV66",
    "attributes": [{
        "variable": True, "code": "WHISHETN", "datatype": "singlevaluelist", "required": True,
        "datatype_description": None, "order": 1,
        "description": "What is the ticket/tag/DL number?",
        "values": [{"key": "123", "name": "Ford"}, {"key": "124", "name": "Chrysler"}],
    }],
}
SPEC_REQUESTS = [{
    "service_request_id": "638344", "status": "closed",
    "status_notes": "Duplicate request.", "service_name": "Sidewalk and Curb Issues",
    "service_code": "006", "description": None, "agency_responsible": None,
    "service_notice": None, "requested_datetime": "2010-04-14T06:37:38-08:00",
    "updated_datetime": "2010-04-14T06:37:38-08:00", "expected_datetime": "2010-04-15T06:37:38-08:00",
    "address": "8TH AVE and JUDAH ST", "address_id": "545483", "zipcode": "94122",
    "lat": 37.762221815, "long": -122.4651145, "media_url": "http://city.gov.s3.amazonaws.com/requests/media/638344.jpg",
}]
valid("services.json", SPEC_SERVICES, "the spec's services example")
valid("service-definition.json", SPEC_DEFINITION, "the spec's service definition example")
valid("requests.json", SPEC_REQUESTS, "the spec's requests example")
invalid("services.json", [dict(SPEC_SERVICES[0], type="sometimes")], "a bad service type")
invalid("services.json", [{k: v for k, v in SPEC_SERVICES[0].items() if k != "metadata"}], "no metadata")
invalid("requests.json", [dict(SPEC_REQUESTS[0], status="pending")], "a bad status")
invalid("requests.json", [dict(SPEC_REQUESTS[0], requested_datetime="yesterday")], "a bad date")
invalid("service-definition.json", dict(SPEC_DEFINITION, attributes=[dict(
    SPEC_DEFINITION["attributes"][0], datatype="colour")]), "a bad datatype")

# --- File requests through the façade (the POST answer against swagger's RequestResponse).
lat, lon = "29.865", "121.545"
filed = []
for i, (code, attrs) in enumerate([
    ("pothole", {"attribute[size]": "large"}),
    ("overflowing_bin", {"attribute[bin_types][]": "kitchen"}),
    ("general", {}),
]):
    fields = {"api_key": KEY, "jurisdiction_id": JURISDICTION, "service_code": code,
              "lat": lat, "long": lon, "description": f"conformance {i} <&>", **attrs}
    status, body = post(fields)
    assert status == 200, (status, body)
    for item in body:
        valid(SWAGGER["definitions"]["RequestResponse"], item, "the POST requests answer")
    filed.append(body[0]["service_request_id"])
    again = post(fields)
    assert again[1][0]["service_request_id"] == filed[-1], "a resubmission is the same request"
status, body = post({"api_key": "o311_wrong", "service_code": "pothole", "lat": lat, "long": lon})
assert status == 403 and body == [{"code": 403, "description": body[0]["description"]}], body

# --- Our live answers against the schemas.
services = get_json("services.json")
valid("services.json", services, "GET services")
for s in services:
    valid("service-definition.json", get_json(f"services/{s['service_code']}.json"),
          f"GET services/{s['service_code']}")
requests = get_json("requests.json")
valid("requests.json", requests, "GET requests")
assert {r["service_request_id"] for r in requests} >= set(filed)
for rid in filed:
    one = get_json(f"requests/{rid}.json")
    valid("requests.json", one, f"GET requests/{rid}")
for params in [{"status": "open"}, {"service_code": "pothole"},
               {"service_request_id": ",".join(filed)}, {"page": "1", "page_size": "2"}]:
    valid("requests.json", get_json("requests.json", **params), f"GET requests {params}")
disco = get_json("discovery.json")
endpoint = disco["endpoints"][0]
assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2", disco
assert set(endpoint["formats"]) == {"text/xml", "application/json"}, disco
assert all(k in disco for k in ["changeset", "contact", "key_service", "endpoints"]), disco
status, ctype, body = get("services/no_such_service.json")
assert status == 404 and json.loads(body)[0]["code"] == 404, body

# --- The third-party client, in both formats.
def as_list(x):
    return x if isinstance(x, list) else [x]


seen = {}
for fmt in ["json", "xml"]:
    client = georeport.GeoReport(ENDPOINT, jurisdiction=JURISDICTION, output_format=fmt)
    listed = as_list(client.get_service_list())
    codes = sorted(s["service_code"] for s in listed)
    definition = client.get_service_definition("pothole")
    attrs = as_list(definition["attributes"]["attribute"] if fmt == "xml" else definition["attributes"])
    by_code = {a["code"]: a for a in attrs}
    assert str(by_code["size"]["required"]).lower() == "true", by_code
    reqs = as_list(client.get_service_requests(service_request_id=",".join(filed)))
    ids = sorted(r["service_request_id"] for r in reqs)
    one = client.get_service_request(filed[0])
    one = as_list(one)[0]
    assert one["service_request_id"] == filed[0] and one["status"] == "open", one
    assert one["description"] == "conformance 0 <&>", one
    # (The library cannot read an empty XML list — xmltodict gives None for
    # <service_requests></service_requests> — so no query here answers an empty one.)
    open_ones = as_list(client.get_service_requests(status="open", service_code="pothole"))
    assert filed[0] in {r["service_request_id"] for r in open_ones}, open_ones
    seen[fmt] = (codes, sorted(by_code), ids)
    checks += 5
assert seen["json"] == seen["xml"], seen
assert seen["json"][2] == sorted(filed)

print(f"open311 conformance: {checks} passed, 0 failed")
