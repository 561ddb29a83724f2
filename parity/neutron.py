#!/usr/bin/env python3
"""Neutron parity: send the same network API requests to the real Neutron
(the oracle in ../shared/oracle/neutron, neutron==29.0.0) and to porthole's
network API (/networking), and compare the answers.  Python 3 standard
library only.

    python3 parity/parity.py --section neutron NEUTRON_INFO PORTHOLE_BIN \
        [--start-oracle [--oracle-port N]] [--report FILE] [--only SUBSTRING]
    (or: python3 parity/neutron.py NEUTRON_INFO PORTHOLE_BIN ...)

NEUTRON_INFO is the info file of neutron_oracle.py (--info-file).  The script
  1. reads it (with --start-oracle: starts a private oracle first, with
     `--bind-host porthole` so that binding to porthole's host name works);
  2. starts PORTHOLE_BIN (`serve --store memory --auth noauth`, empty world);
  3. sends every case to both: the oracle at /v2.0 with its identity
     headers (X-User-Id, X-Project-Id, X-Roles), porthole at
     /networking/v2.0 with `X-Auth-Token: <user>:<project>` and the same
     X-Roles (the projects and users of the info file);
  4. names what each side creates ({net1}, {port1}, ...) and normalises ids,
     MACs, timestamps, request ids, base URLs and allocated addresses, then
     compares status, Content-Type, the request id header, the JSON layout
     (compact or spaced) and the body (key order included);
  5. prints one line per case (SAME, DIFF, EXPECTED) and a summary, and
     writes a JSON report.

Exit status: 0 whenever the comparison ran, 2 when it could not run.
"""

import argparse
import atexit
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE_VENV_PY = os.path.join(
    os.environ.get('NEUTRON_ORACLE_HOME', os.path.expanduser('~/.cache/neutron-oracle')),
    'venv', 'bin', 'python')
ORACLE_SCRIPT = os.path.normpath(os.path.join(
    HERE, '..', '..', 'shared', 'oracle', 'neutron', 'neutron_oracle.py'))

# Deliberate differences: case id -> (code, reason).  The README's table of
# deliberate differences lists the same.
_SG = ('porthole has no security groups: a port\'s security_groups is what it '
       'was given ([] by default), not the project\'s default group')
_UNSORTED = ('unsorted, Neutron lists in its database\'s order; porthole lists ports in '
             'creation order, networks and subnets by id')
EXPECTED_DIFFERENCES = {
    'P01-create-port': ('sg', _SG),
    'P02-list-ports-by-network': ('sg', _SG),
    'P03-show-port': ('sg', _SG),
    'P04-update-port': ('sg', _SG),
    'P05-filter-device-id': ('sg', _SG),
    'P07-port-fixed-ip': ('sg', _SG),
    'P09-bulk-ports': ('sg', _SG),
    'P20-admin-show-port': ('sg', _SG),
    'P21-admin-bind-port': ('sg+revision', _SG + '; binding bumps Neutron\'s revision_number once per '
                            'internal update (binding, status), porthole\'s once per request'),
    'N09-admin-list-networks': ('provider', 'porthole has no provider:* attributes (no segments)'),
    'N10-admin-show-network': ('provider', 'porthole has no provider:* attributes (no segments)'),
    'N15-create-shared-admin': ('provider', 'porthole has no provider:* attributes (no segments)'),
    'P18-reader-list-ports': ('order', _UNSORTED),
    'N14-list-networks-fields': ('order', _UNSORTED),
    'X11-filter-bool': ('order', _UNSORTED),
    'E01-extensions': ('ext', 'porthole lists only the extensions whose behaviour it serves'),
}


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(host, port, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


PROCS = []


def stop_all():
    for proc in PROCS:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


atexit.register(stop_all)


def start_oracle(info_path, port, python, script):
    if os.path.exists(info_path):
        try:
            pid = json.load(open(info_path))['pid']
            os.kill(pid, 0)
            sys.exit('parity neutron: %s belongs to a live oracle (pid %d)' % (info_path, pid))
        except (OSError, KeyError, ValueError):
            os.unlink(info_path)
    log = open(info_path + '.log', 'w')
    proc = subprocess.Popen([python, script, '--port', str(port), '--bind-host', 'porthole',
                             '--info-file', info_path], stdout=log, stderr=log)
    PROCS.append(proc)
    deadline = time.time() + 60
    while time.time() < deadline and not os.path.exists(info_path):
        if proc.poll() is not None:
            sys.exit('parity neutron: the oracle exited (see %s.log)' % info_path)
        time.sleep(0.2)
    time.sleep(0.2)
    return json.load(open(info_path))


def start_porthole(binary, port, logdir):
    log = open(os.path.join(logdir, 'porthole.log'), 'w')
    proc = subprocess.Popen([binary, 'serve', '--store', 'memory', '--auth', 'noauth',
                             '--listen', '127.0.0.1:%d' % port], stdout=log, stderr=log)
    PROCS.append(proc)
    if not wait_for('127.0.0.1', port):
        sys.exit('parity neutron: porthole did not start (see %s)' % log.name)
    return proc


def request(base, method, path, headers, body):
    host, port = base.replace('http://', '').split(':')
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    data = None if body is None else json.dumps(body).encode()
    hdrs = dict(headers)
    if data is not None:
        hdrs['Content-Type'] = 'application/json'
    conn.request(method, path, body=data, headers=hdrs)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, raw


# --- the cases: (id, role, method, path, body, options)
# role: member (project a), member_b (project b), reader (project a), admin.
# Paths and bodies may name created objects: {net1} is what case 'save'd as net1.
CASES = [
    ('V01-versions', None, 'GET', '/', None, {'root': True}),
    ('N01-create-network', 'member', 'POST', '/networks', {'network': {'name': 'net1'}}, {'save': ('network', 'net1')}),
    ('N01b-create-network-v6', 'member', 'POST', '/networks', {'network': {'name': 'net6'}}, {'save': ('network', 'net6')}),
    ('N02-show-network', 'member', 'GET', '/networks/{net1}', None, {}),
    ('N03-create-network-reader', 'reader', 'POST', '/networks', {'network': {'name': 'x'}}, {}),
    ('N04-create-network-shared-member', 'member', 'POST', '/networks', {'network': {'name': 'x', 'shared': True}}, {}),
    ('N05-create-network-unknown-attr', 'member', 'POST', '/networks', {'network': {'bogus': 1}}, {}),
    ('N06-create-network-bad-bool', 'member', 'POST', '/networks', {'network': {'admin_state_up': 'maybe'}}, {}),
    ('N07-create-network-no-body-key', 'member', 'POST', '/networks', {'net': {}}, {}),
    ('N08-show-network-unknown', 'member', 'GET', '/networks/00000000-0000-0000-0000-000000000000', None, {}),
    ('N09-admin-list-networks', 'admin', 'GET', '/networks', None, {}),
    ('N10-admin-show-network', 'admin', 'GET', '/networks/{net1}', None, {}),
    ('N11-update-network', 'member', 'PUT', '/networks/{net1}', {'network': {'description': 'd'}}, {}),
    ('N12-b-show-network', 'member_b', 'GET', '/networks/{net1}', None, {}),
    ('N13-b-list-networks', 'member_b', 'GET', '/networks', None, {}),
    ('N14-list-networks-fields', 'member', 'GET', '/networks?fields=id&fields=name', None, {}),
    ('N15-create-shared-admin', 'admin', 'POST', '/networks', {'network': {'name': 'shared1', 'shared': True}}, {'save': ('network', 'shared1')}),
    ('N16-b-list-shared', 'member_b', 'GET', '/networks?fields=name', None, {}),
    ('N17-b-delete-shared', 'member_b', 'DELETE', '/networks/{shared1}', None, {}),
    ('S01-create-subnet', 'member', 'POST', '/subnets', {'subnet': {'network_id': '{net1}', 'cidr': '10.0.0.0/24', 'ip_version': 4, 'name': 'sub1'}}, {'save': ('subnet', 'sub1')}),
    ('S02-show-subnet', 'member', 'GET', '/subnets/{sub1}', None, {}),
    ('S03-overlapping-subnet', 'member', 'POST', '/subnets', {'subnet': {'network_id': '{net1}', 'cidr': '10.0.0.128/25', 'ip_version': 4}}, {}),
    ('S04-bad-cidr', 'member', 'POST', '/subnets', {'subnet': {'network_id': '{net1}', 'cidr': 'nonsense', 'ip_version': 4}}, {}),
    ('S05-subnet-unknown-network', 'member', 'POST', '/subnets', {'subnet': {'network_id': '00000000-0000-0000-0000-000000000000', 'cidr': '10.9.0.0/24', 'ip_version': 4}}, {}),
    ('S06-update-subnet', 'member', 'PUT', '/subnets/{sub1}', {'subnet': {'name': 'renamed', 'dns_nameservers': ['9.9.9.9']}}, {}),
    ('S07-show-subnet-unknown', 'member', 'GET', '/subnets/00000000-0000-0000-0000-000000000000', None, {}),
    ('S08-network-lists-subnet', 'member', 'GET', '/networks/{net1}?fields=subnets', None, {}),
    ('P01-create-port', 'member', 'POST', '/ports', {'port': {'network_id': '{net1}', 'name': 'port1'}}, {'save': ('port', 'port1')}),
    ('P02-list-ports-by-network', 'member', 'GET', '/ports?network_id={net1}', None, {}),
    ('P03-show-port', 'member', 'GET', '/ports/{port1}', None, {}),
    ('P04-update-port', 'member', 'PUT', '/ports/{port1}', {'port': {'name': 'port1-renamed', 'device_id': 'd0000000-0000-0000-0000-000000000001'}}, {}),
    ('P05-filter-device-id', 'member', 'GET', '/ports?device_id=d0000000-0000-0000-0000-000000000001', None, {}),
    ('P06-filter-fixed-ip-fields', 'member', 'GET', '/ports?fixed_ips=subnet_id%3D{sub1}&fields=id&fields=mac_address&fields=name', None, {}),
    ('P07-port-fixed-ip', 'member', 'POST', '/ports', {'port': {'network_id': '{net1}', 'name': 'port2', 'fixed_ips': [{'ip_address': '10.0.0.10'}]}}, {'save': ('port', 'port2'), 'ips': True}),
    ('P08-same-fixed-ip', 'member', 'POST', '/ports', {'port': {'network_id': '{net1}', 'fixed_ips': [{'ip_address': '10.0.0.10'}]}}, {'ips': True}),
    ('P09-bulk-ports', 'member', 'POST', '/ports', {'ports': [{'network_id': '{net1}', 'name': 'b1', 'fixed_ips': [{'ip_address': '10.0.0.21'}]}, {'network_id': '{net1}', 'name': 'b2', 'fixed_ips': [{'ip_address': '10.0.0.22'}]}]}, {'ips': True, 'save_many': ('ports', ['bulk1', 'bulk2'])}),
    ('P10-bulk-ports-conflict', 'member', 'POST', '/ports', {'ports': [{'network_id': '{net1}', 'fixed_ips': [{'ip_address': '10.0.0.23'}]}, {'network_id': '{net1}', 'fixed_ips': [{'ip_address': '10.0.0.23'}]}]}, {'ips': True}),
    ('P11-ip-outside', 'member', 'POST', '/ports', {'port': {'network_id': '{net1}', 'fixed_ips': [{'ip_address': '10.99.0.1'}]}}, {'ips': True}),
    ('P12-mac-in-use', 'member', 'POST', '/ports', {'port': {'network_id': '{net1}', 'mac_address': '{mac:port1}'}}, {}),
    ('P13-no-network-id', 'member', 'POST', '/ports', {'port': {'name': 'x'}}, {}),
    ('P14-show-port-unknown', 'member', 'GET', '/ports/00000000-0000-0000-0000-000000000000', None, {}),
    ('P15-b-port-on-a-network', 'member_b', 'POST', '/ports', {'port': {'network_id': '{net1}'}}, {}),
    ('P16-b-show-port', 'member_b', 'GET', '/ports/{port1}', None, {}),
    ('P17-b-list-ports', 'member_b', 'GET', '/ports', None, {}),
    ('P18-reader-list-ports', 'reader', 'GET', '/ports?fields=id&fields=name', None, {}),
    ('P19-member-binding', 'member', 'PUT', '/ports/{port1}', {'port': {'binding:host_id': 'porthole'}}, {}),
    ('P20-admin-show-port', 'admin', 'GET', '/ports/{port1}', None, {}),
    ('P21-admin-bind-port', 'admin', 'PUT', '/ports/{port1}', {'port': {'binding:host_id': 'porthole', 'device_owner': 'compute:nova'}}, {}),
    ('P22-sort-name-desc', 'member', 'GET', '/ports?sort_key=name&sort_dir=desc&fields=name', None, {}),
    ('P23-sort-bad-key', 'member', 'GET', '/ports?sort_key=bogus', None, {}),
    ('P24-limit', 'member', 'GET', '/ports?limit=2&fields=name&sort_key=name&sort_dir=asc', None, {}),
    ('P25-bad-limit', 'member', 'GET', '/ports?limit=x', None, {}),
    ('P34-filter-or', 'member', 'GET', '/ports?name=port2&name=b1&fields=name&sort_key=name&sort_dir=asc', None, {}),
    ('P35-filter-fixed-ip-address', 'member', 'GET', '/ports?fixed_ips=ip_address%3D10.0.0.10&fields=name', None, {'ips': True}),
    ('P36-limit-marker', 'member', 'GET', '/ports?limit=2&sort_key=name&sort_dir=asc&fields=name&marker={bulk2}', None, {}),
    ('P37-update-port-unknown-attr', 'member', 'PUT', '/ports/{port2}', {'port': {'bogus': 1}}, {}),
    ('P38-update-port-unknown', 'member', 'PUT', '/ports/00000000-0000-0000-0000-000000000000', {'port': {'name': 'x'}}, {}),
    ('S10-list-subnets-fields', 'member', 'GET', '/subnets?fields=cidr&fields=gateway_ip', None, {}),
    ('X01-update-network-shared-member', 'member', 'PUT', '/networks/{net1}', {'network': {'shared': True}}, {}),
    ('X02-create-port-binding-member', 'member', 'POST', '/ports', {'port': {'network_id': '{net1}', 'binding:host_id': 'porthole'}}, {}),
    ('X03-show-port-fields', 'member', 'GET', '/ports/{port2}?fields=name&fields=status', None, {}),
    ('X04-create-subnet-no-cidr', 'member', 'POST', '/subnets', {'subnet': {'network_id': '{net1}', 'ip_version': 4}}, {}),
    ('X05-create-subnet-version-mismatch', 'member', 'POST', '/subnets', {'subnet': {'network_id': '{net1}', 'cidr': '10.5.0.0/24', 'ip_version': 6}}, {}),
    ('X06-create-port-bad-mac', 'member', 'POST', '/ports', {'port': {'network_id': '{net1}', 'mac_address': 'zz'}}, {}),
    ('X07-create-network-name-not-string', 'member', 'POST', '/networks', {'network': {'name': 5}}, {}),
    ('X08-update-port-network-id', 'member', 'PUT', '/ports/{port2}', {'port': {'network_id': '{net1}'}}, {}),
    ('X09-b-delete-port', 'member_b', 'DELETE', '/ports/{port2}', None, {}),
    ('X10-reader-delete-port', 'reader', 'DELETE', '/ports/{port2}', None, {}),
    ('X11-filter-bool', 'member', 'GET', '/networks?shared=false&fields=name', None, {}),
    ('X12-create-port-subnet-id', 'member', 'POST', '/ports', {'port': {'network_id': '{net1}', 'fixed_ips': [{'subnet_id': '00000000-0000-0000-0000-000000000000'}]}}, {}),
    ('X13-create-subnet-v6', 'member', 'POST', '/subnets', {'subnet': {'network_id': '{net6}', 'cidr': 'fd00:1::/64', 'ip_version': 6, 'name': 'v6'}}, {'save': ('subnet', 'sub6')}),
    ('X14-delete-subnet-v6', 'member', 'DELETE', '/subnets/{sub6}', None, {}),
    ('X15-delete-network-v6', 'member', 'DELETE', '/networks/{net6}', None, {}),
    ('U01-unknown-path', 'member', 'GET', '/bogus', None, {}),
    ('U02-method-not-allowed', 'member', 'PATCH', '/ports', None, {}),
    ('P26-delete-subnet-in-use', 'member', 'DELETE', '/subnets/{sub1}', None, {}),
    ('P27-delete-network-in-use', 'member', 'DELETE', '/networks/{net1}', None, {'ids_in_message': True}),
    ('P28-member-delete-compute-port', 'member', 'DELETE', '/ports/{port1}', None, {}),
    ('P29-admin-delete-compute-port', 'admin', 'DELETE', '/ports/{port1}', None, {}),
    ('P30-delete-port2', 'member', 'DELETE', '/ports/{port2}', None, {}),
    ('P31-delete-bulk1', 'member', 'DELETE', '/ports/{bulk1}', None, {}),
    ('P32-delete-bulk2', 'member', 'DELETE', '/ports/{bulk2}', None, {}),
    ('P33-show-deleted-port', 'member', 'GET', '/ports/{port2}', None, {}),
    ('S09-delete-subnet', 'member', 'DELETE', '/subnets/{sub1}', None, {}),
    ('N18-delete-network', 'member', 'DELETE', '/networks/{net1}', None, {}),
    ('N19-delete-network-again', 'member', 'DELETE', '/networks/{net1}', None, {}),
    ('N20-admin-delete-shared', 'admin', 'DELETE', '/networks/{shared1}', None, {}),
    ('E01-extensions', 'member', 'GET', '/extensions', None, {}),
]

UUID = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')
MAC = re.compile(r'fa:16:3e(:[0-9a-f]{2}){3}')
TIME = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ')
REQ = re.compile(r'req-[0-9a-f-]{36}')


class Side:
    def __init__(self, name, base, prefix, headers):
        self.name, self.base, self.prefix, self.headers = name, base, prefix, headers
        self.names = {}      # name -> id
        self.macs = {}       # name -> mac

    def substitute(self, text):
        text = re.sub(r'\{mac:(\w+)\}', lambda m: self.macs.get(m.group(1), 'fa:16:3e:00:00:00'), text)
        return re.sub(r'\{(\w+)\}', lambda m: self.names.get(m.group(1), m.group(0)), text)

    def normalise(self, text, ips):
        for name, value in self.names.items():
            text = text.replace(value, '{%s}' % name)
        text = text.replace(self.base + self.prefix, '<base>')
        text = UUID.sub('<uuid>', text)
        text = MAC.sub('<mac>', text)
        text = TIME.sub('<time>', text)
        text = REQ.sub('<request-id>', text)
        if not ips:
            text = re.sub(r'"ip_address": ?"10\.0\.0\.\d+"', '"ip_address":"<ip>"', text)
            text = re.sub(r'ip address 10\.0\.0\.\d+', 'ip address <ip>', text)
        return text


def layout(raw):
    text = raw.decode('utf-8', 'replace')
    if not text.strip().startswith('{'):
        return 'none'
    return 'spaced' if '": ' in text else 'compact'


def canonical(text):
    try:
        return json.dumps(json.loads(text), separators=(',', ':'))
    except ValueError:
        return text


def run_case(case, sides, identities):
    cid, role, method, path, body, opts = case
    answers = []
    for side in sides:
        if opts.get('root'):
            full = side.prefix.rsplit('/v2.0', 1)[0] + '/'
            headers = {}
        else:
            full = side.prefix + side.substitute(path)
            headers = side.headers(identities[role])
        data = None if body is None else json.loads(side.substitute(json.dumps(body)))
        status, hdrs, raw = request(side.base, method, full, headers, data)
        text = raw.decode('utf-8', 'replace')
        if 'save' in opts and status == 201:
            kind, name = opts['save']
            obj = json.loads(text)[kind]
            side.names[name] = obj['id']
            if 'mac_address' in obj:
                side.macs[name] = obj['mac_address']
        if 'save_many' in opts and status == 201:
            kind, names = opts['save_many']
            for name, obj in zip(names, json.loads(text)[kind]):
                side.names[name] = obj['id']
        answers.append({
            'status': status,
            'content_type': hdrs.get('content-type'),
            'request_id': bool(REQ.fullmatch(hdrs.get('x-openstack-request-id', ''))),
            'layout': layout(raw),
            'body': side.normalise(canonical(text), opts.get('ips')),
            'raw': text,
        })
    oracle, porthole = answers
    reasons = []
    for key in ('status', 'content_type', 'request_id', 'layout', 'body'):
        if oracle[key] != porthole[key]:
            if key == 'body':
                reasons.append('body: %s vs %s' % (oracle[key][:600], porthole[key][:600]))
            else:
                reasons.append('%s: %r vs %r' % (key, oracle[key], porthole[key]))
    return answers, reasons


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('oracle_info')
    ap.add_argument('porthole_bin')
    ap.add_argument('--report', default=os.path.join(tempfile.gettempdir(), 'parity-neutron-report.json'))
    ap.add_argument('--start-oracle', action='store_true')
    ap.add_argument('--oracle-port', type=int, default=0)
    ap.add_argument('--oracle-python', default=ORACLE_VENV_PY)
    ap.add_argument('--oracle-script', default=ORACLE_SCRIPT)
    ap.add_argument('--only', default='')
    args = ap.parse_args(argv)
    logdir = tempfile.mkdtemp(prefix='parity-neutron-')
    print('parity neutron: logs in %s' % logdir)
    if args.start_oracle:
        info = start_oracle(args.oracle_info, args.oracle_port or free_port(),
                            args.oracle_python, args.oracle_script)
    else:
        try:
            info = json.load(open(args.oracle_info))
        except (OSError, ValueError) as e:
            print('parity neutron: cannot read %s: %s' % (args.oracle_info, e), file=sys.stderr)
            return 2
    port = free_port()
    start_porthole(args.porthole_bin, port, logdir)
    identities = {
        'member': info['headers_member'],
        'member_b': info['headers_member_b'],
        'reader': info['headers_reader'],
        'admin': info['headers_admin'],
    }

    def oracle_headers(ident):
        return dict(ident)

    def porthole_headers(ident):
        return {'X-Auth-Token': '%s:%s' % (ident['X-User-Id'], ident['X-Project-Id']),
                'X-Roles': ident['X-Roles']}

    sides = [Side('oracle', info['base_url'], '/v2.0', oracle_headers),
             Side('porthole', 'http://127.0.0.1:%d' % port, '/networking/v2.0', porthole_headers)]
    results = []
    counts = {'SAME': 0, 'DIFF': 0, 'EXPECTED': 0}
    for case in CASES:
        if args.only and args.only not in case[0]:
            continue
        try:
            answers, reasons = run_case(case, sides, identities)
        except (OSError, http.client.HTTPException) as e:
            print('parity neutron: %s: %s' % (case[0], e), file=sys.stderr)
            return 2
        if not reasons:
            verdict = 'SAME'
        elif case[0] in EXPECTED_DIFFERENCES:
            verdict = 'EXPECTED'
        else:
            verdict = 'DIFF'
        counts[verdict] += 1
        line = '%-8s %s %s %s' % (verdict, case[0], case[2], case[3])
        if verdict == 'EXPECTED':
            line += '  [%s]' % EXPECTED_DIFFERENCES[case[0]][0]
        print(line)
        if verdict == 'DIFF':
            for r in reasons:
                print('    ' + r)
        results.append({'case': case[0], 'method': case[2], 'path': case[3], 'verdict': verdict,
                        'reasons': reasons, 'oracle': answers[0], 'porthole': answers[1]})
    total = sum(counts.values())
    print('parity neutron: %d cases, %d identical, %d different, %d expected differences'
          % (total, counts['SAME'], counts['DIFF'], counts['EXPECTED']))
    with open(args.report, 'w') as f:
        json.dump({'counts': counts, 'cases': results}, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
