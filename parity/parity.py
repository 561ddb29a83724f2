#!/usr/bin/env python3
"""Parity check: send the same requests to the real Nova oracle and to porthole
and compare the answers.  Python 3 standard library only.

    python3 parity/parity.py ORACLE_INFO.json PORTHOLE_BIN [--report FILE]
                             [--start-oracle [--oracle-port N]] [--keep-seed FILE]
    python3 parity/parity.py --section identity KEYSTONE_INFO.json PORTHOLE_BIN ...
                             (the identity section: see parity/identity.py)
    python3 parity/parity.py --section neutron NEUTRON_INFO.json PORTHOLE_BIN ...
                             (the Neutron section: see parity/neutron.py)

ORACLE_INFO is the info file written by ../shared/oracle/nova_oracle.py
(--info-file).  The script
  1. reads it, asks the oracle (GET only) which ports are attached where, and
     writes a porthole seed that reproduces that world (server ids and states,
     network_1 and its IPv4 subnet, port ids/MACs/IPs/bindings, project id);
  2. starts PORTHOLE_BIN (`serve --store memory`) on a free 127.0.0.1 port with
     that seed and waits for it;
  3. sends the same list of requests to both servers, translating only the
     auth headers (oracle: X-Auth-User/X-Auth-Project-Id/X-Roles; porthole:
     X-Auth-Token user:project plus the same X-Roles);
  4. compares status, fault name/code/message, normalised success bodies
     (keys, key order, value types and values, with ids of new objects, MACs,
     IPs, timestamps, request ids, hostIds and base URLs normalised) and the
     headers OpenStack-API-Version, X-OpenStack-Nova-API-Version, Vary (both
     values), X-OpenStack-Request-Id, X-Compute-Request-Id and Content-Type;
  5. prints one line per case and a summary line, and writes a JSON report.

The run changes both worlds identically (every attach is followed by a detach
of the same port), so it leaves the oracle's port bindings as it found them;
it does add instance actions.  Pass --start-oracle to run against a private,
freshly started oracle that is stopped again at the end (recommended: the
instance-action comparisons only ignore actions that existed before the run).

Exit status: 0 whenever the comparison ran (differences are for humans to
read), 2 when it could not run (oracle unreachable, porthole did not start...).
"""

import argparse
import atexit
import http.client
import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

# --------------------------------------------------------------------------
# Known, deliberate differences.  A case listed here that differs is reported
# as EXPECTED instead of DIFF (a case listed here that turns out identical is
# reported as SAME).
EXPECTED_DIFFERENCES = {
    'N01-attach-net-fixed-ip': (
        'a', "the oracle's fake Neutron gives every new port IP 192.168.1.30 "
             "and ignores the requested fixed IP; porthole honours it"),
    'N03-attach-net-only-2.70': (
        'a', "the oracle's fake Neutron gives every new port IP 192.168.1.30 "
             "(already used by port_2); porthole allocates a free address"),
    'N04-attach-unknown-net': (
        'b', 'unknown net_id: the oracle answers 500 (untranslated '
             'NetworkNotFoundClient), porthole the documented 404'),
    'B05-invalid-utf8-body': (
        'c', 'invalid UTF-8 body: Nova 500s while building a debug string; '
             'porthole answers 400 Malformed request body'),
    'IA-show-by-response-request-id': (
        'd', 'in the oracle the action request_id is not the response '
             'x-openstack-request-id (keystone stub artifact); porthole uses '
             'the production behaviour (they are equal)'),
    'E01-method-override': (
        'e', "Routes' ?_method= override (GET ...?_method=DELETE detaches) is "
             'deliberately not reproduced'),
}
# The compute host named in events (admins, 2.62+): the oracle's fake
# compute service is "compute", porthole's host is "porthole".
for _action in ('attach_ok', 'detach_ok', 'detach_na', 'attach_inuse'):
    for _mv in ('2.62', '2.84'):
        EXPECTED_DIFFERENCES['IA-show-%s-%s-admin' % (_action, _mv)] = (
            'f', 'event host: the oracle compute host is "compute", porthole '
                 'reports "porthole"')

ORACLE_VENV_PY = os.path.join(
    os.environ.get('NOVA_ORACLE_HOME', os.path.expanduser('~/.cache/nova-oracle')),
    'venv', 'bin', 'python')
ORACLE_SCRIPT = os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'oracle',
    'nova_oracle.py'))

# Facts of the oracle's world that the Nova API does not expose (they come
# from nova/tests/fixtures/neutron.py and nova_oracle.py).
FIXTURE_SUBNET_ID = 'f8a6e8f8-c2ec-497c-9f23-da9616de54ef'
FIXTURE_CIDR = '192.168.1.0/24'          # fixture says 192.168.1.1/24
FIXTURE_GATEWAY = '192.168.1.1'
FIXTURE_POOL = ('192.168.1.2', '192.168.1.254')   # fixture: .1-.254 incl. gateway
FREE_PORT_MAC = 'fa:16:3e:00:00:%02x'    # % (0x10 + i)
FREE_PORT_IP = '192.168.1.%d'            # % (50 + i)
IN_USE_MAC, IN_USE_IP = 'fa:16:3e:00:00:e1', '192.168.1.99'
IN_USE_DEVICE = str(uuid.UUID(int=0xdead))
PORT_1_FACTS = ('fa:16:3e:4c:2c:30', '192.168.1.3')     # fixture port_1
PORT_2_FACTS = ('00:0c:29:0d:11:74', '192.168.1.30')    # fixture port_2
SERVER_STATES = {   # name -> (display name, vm_state, task_state, locked)
    'active': ('active-1', 'active', '', False),
    'active_with_port_1': ('active-2', 'active', '', False),
    'active_no_network': ('active-nonet', 'active', '', False),
    'stopped': ('stopped', 'stopped', '', False),
    'locked': ('locked', 'active', '', True),
    'paused': ('paused', 'paused', '', False),
    'suspended': ('suspended', 'suspended', '', False),
    'building': ('building', 'building', 'spawning', False),
    'error': ('error', 'error', '', False),
}
OTHER_PROJECT = '0123456789abcdef0123456789abcdef'
UNKNOWN_SERVER = '00000000-0000-0000-0000-00000000abcd'
UNKNOWN_PORT = '00000000-0000-0000-0000-000000000099'
UNKNOWN_NET = '00000000-0000-0000-0000-000000000077'
UNKNOWN_REQ = 'req-00000000-0000-0000-0000-000000000000'

UUID_RE = re.compile(r'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                     r'[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')
REQ_RE = re.compile(r'req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                    r'[0-9a-f]{12}')
REQ_ANY_RE = re.compile(REQ_RE.pattern, re.I)
UUID_ANY_RE = re.compile(r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                         r'[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')
MAC_RE = re.compile(r'^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$')
NOVA_TS_RE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$')
HOSTID_RE = re.compile(r'^[0-9a-f]{56}$')

CHECKED_HEADERS = ('openstack-api-version', 'x-openstack-nova-api-version',
                   'vary', 'x-openstack-request-id', 'x-compute-request-id',
                   'content-type')


class CannotRun(Exception):
    pass


# --------------------------------------------------------------------------
# HTTP
def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_call(port, method, path, headers, body, timeout=60):
    """Returns (status, headers list, body bytes).  body None -> no body and
    no Content-Length unless a header says so."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        if body is not None and not any(k.lower() == 'content-length'
                                        for k, _ in headers):
            conn.putheader('Content-Length', str(len(body)))
        conn.endheaders()
        if body:
            conn.send(body)
        r = conn.getresponse()
        data = r.read()
        return r.status, r.getheaders(), data
    finally:
        conn.close()


class Side:
    """One of the two servers under comparison."""

    def __init__(self, name, port, auth):
        self.name = name
        self.port = port
        self.base = 'http://127.0.0.1:%d' % port
        self.auth = auth          # function(user, project, roles) -> headers
        self.vars = {}            # per-side values captured during the run
        self.preexisting = {}     # server id -> set of action request ids
        self.known_actions = set()

    def request(self, method, path, role, extra=(), body=None):
        hdrs = list(self.auth(*role)) + list(extra)
        return http_call(self.port, method, path, hdrs, body)


def oracle_auth(user, project, roles):
    return [('X-Auth-User', user), ('X-Auth-Project-Id', project),
            ('X-Roles', roles)]


def porthole_auth(user, project, roles):
    return [('X-Auth-Token', '%s:%s' % (user, project)), ('X-Roles', roles)]


# --------------------------------------------------------------------------
# Oracle world -> porthole seed
def get_json(side, path, role, mv=None):
    extra = [('OpenStack-API-Version', 'compute %s' % mv)] if mv else []
    st, _h, data = side.request('GET', path, role, extra)
    if st != 200:
        raise CannotRun('GET %s on %s answered %s: %s'
                        % (path, side.name, st, data[:200]))
    return json.loads(data)


def toml_str(s):
    return json.dumps(s)      # a JSON string is a valid TOML basic string


def derive_seed(W, oracle, admin):
    P = W['project_id']
    net = W['networks']['network_1']
    attached = {}             # port id -> (server id, attachment dict)
    subnet_id = None
    for name, sid in W['servers'].items():
        js = get_json(oracle, '/v2.1/%s/servers/%s/os-interface' % (P, sid),
                      admin, '2.70')
        for a in js['interfaceAttachments']:
            attached[a['port_id']] = (sid, a)
            for f in a['fixed_ips']:
                subnet_id = subnet_id or f['subnet_id']
    subnet_id = subnet_id or FIXTURE_SUBNET_ID
    lines = ['# Generated by parity/parity.py from %s (oracle pid %s).'
             % (W.get('_info_path', '?'), W.get('pid')),
             '# Reproduces the oracle world: same ids, states, ports.', '']
    for name, sid in W['servers'].items():
        disp, vm, task, locked = SERVER_STATES.get(name, (name, 'active', '', False))
        lines += ['[[servers]]', 'id = %s' % toml_str(sid),
                  'name = %s' % toml_str(disp), 'project_id = %s' % toml_str(P),
                  'user_id = "fake"', 'vm_state = %s' % toml_str(vm)]
        if task:
            lines.append('task_state = %s' % toml_str(task))
        if locked:
            lines.append('locked = true')
        lines.append('')
    lines += ['[[networks]]', 'id = %s' % toml_str(net), 'name = "private"',
              'project_id = %s' % toml_str(P), '',
              '[[subnets]]', 'id = %s' % toml_str(subnet_id),
              'network_id = %s' % toml_str(net),
              'cidr = %s' % toml_str(FIXTURE_CIDR),
              'gateway_ip = %s' % toml_str(FIXTURE_GATEWAY),
              'allocation_pools = [{ start = %s, end = %s }]'
              % (toml_str(FIXTURE_POOL[0]), toml_str(FIXTURE_POOL[1])), '']
    # Ports in the fake Neutron's dict order (= creation order, which is the
    # order Nova lists them in): port_1, the free ports, the in-use port,
    # port_2 (created when 'active' booted), then ports created later.
    ports = []   # (id, mac, ip, device_id, device_owner, tag, status)
    fixed = [(W['ports']['port_1_bound_to_active_with_port_1'],) + PORT_1_FACTS]
    fixed += [(pid, FREE_PORT_MAC % (0x10 + i), FREE_PORT_IP % (50 + i))
              for i, pid in enumerate(W['ports']['free'])]
    fixed.append((W['ports']['in_use_by_other_device'], IN_USE_MAC, IN_USE_IP))
    fixed.append((W['ports']['port_2_booted_on_active'],) + PORT_2_FACTS)
    for pid, mac, ip in fixed:
        if pid in attached:
            sid, a = attached[pid]
            ports.append((pid, a['mac_addr'],
                          a['fixed_ips'][0]['ip_address'] if a['fixed_ips'] else None,
                          sid, 'compute:nova', a.get('tag'), a.get('port_state') or 'ACTIVE'))
        elif pid == W['ports']['in_use_by_other_device']:
            ports.append((pid, mac, ip, IN_USE_DEVICE, 'compute:nova', None, 'ACTIVE'))
        else:
            ports.append((pid, mac, ip, '', '', None, 'ACTIVE'))
    done = {p[0] for p in ports}
    for pid, (sid, a) in attached.items():
        if pid not in done:
            ports.append((pid, a['mac_addr'],
                          a['fixed_ips'][0]['ip_address'] if a['fixed_ips'] else None,
                          sid, 'compute:nova', a.get('tag'), a.get('port_state') or 'ACTIVE'))
    used_ips = set()
    notes = []
    for pid, mac, ip, dev, owner, tag, status in ports:
        lines += ['[[ports]]', 'id = %s' % toml_str(pid),
                  'network_id = %s' % toml_str(net),
                  'project_id = %s' % toml_str(P),
                  'mac_address = %s' % toml_str(mac)]
        if ip and ip not in used_ips:
            used_ips.add(ip)
            lines.append('fixed_ips = [{ subnet_id = %s, ip_address = %s }]'
                         % (toml_str(subnet_id), toml_str(ip)))
        elif ip:
            notes.append('port %s: duplicate IP %s left to porthole' % (pid, ip))
        lines += ['device_id = %s' % toml_str(dev),
                  'device_owner = %s' % toml_str(owner),
                  'status = %s' % toml_str(status)]
        if tag is not None:
            lines.append('tag = %s' % toml_str(tag))
        lines.append('')
    return '\n'.join(lines), notes


# --------------------------------------------------------------------------
# Processes
CHILDREN = []
OWN_FILES = []      # files to remove at exit (the info file of our own oracle)


def _stop_children():
    for path in OWN_FILES:
        try:
            os.unlink(path)
        except OSError:
            pass
    for proc in CHILDREN:
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except OSError:
                    pass


atexit.register(_stop_children)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))


def _pid_alive(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            return not any(l.startswith('State:') and 'Z' in l for l in f)
    except (FileNotFoundError, TypeError):
        return False


def start_oracle(info_path, port, python, script, logdir):
    if os.path.exists(info_path):
        try:
            with open(info_path) as f:
                old = json.load(f)
        except ValueError:
            old = {}
        if _pid_alive(old.get('pid')):
            raise CannotRun('%s belongs to a running oracle (pid %s); give '
                            '--start-oracle another info-file path'
                            % (info_path, old.get('pid')))
        os.unlink(info_path)
    err = open(os.path.join(logdir, 'oracle.err'), 'w')
    proc = subprocess.Popen(
        [python, script, '--port', str(port), '--info-file', info_path],
        stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
        cwd=logdir, start_new_session=True)
    CHILDREN.append(proc)
    OWN_FILES.append(info_path)
    for _ in range(600):
        if proc.poll() is not None:
            raise CannotRun('oracle exited (%s), see %s/oracle.err'
                            % (proc.returncode, logdir))
        if os.path.exists(info_path):
            try:
                with open(info_path) as f:
                    W = json.load(f)
                if W.get('pid') == proc.pid:
                    return W
            except ValueError:
                pass
        time.sleep(0.5)
    raise CannotRun('oracle did not start within 300 s')


def start_porthole(binary, seed_path, logdir):
    port = free_port()
    log = open(os.path.join(logdir, 'porthole.log'), 'w')
    proc = subprocess.Popen(
        [binary, 'serve', '--auth', 'noauth', '--store', 'memory', '--listen', '127.0.0.1:%d' % port,
         '--seed', seed_path],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        cwd=logdir, start_new_session=True)
    CHILDREN.append(proc)
    for _ in range(300):
        if proc.poll() is not None:
            with open(os.path.join(logdir, 'porthole.log')) as f:
                tail = f.read()[-2000:]
            raise CannotRun('porthole exited with %s:\n%s' % (proc.returncode, tail))
        try:
            http_call(port, 'GET', '/', [], None, timeout=2)
            return proc, port
        except OSError:
            time.sleep(0.1)
    raise CannotRun('porthole did not answer within 30 s')


# --------------------------------------------------------------------------
# Normalisation and comparison
class Norm:
    def __init__(self, known_ids, bases):
        self.known = set(known_ids)
        self.known_lower = {k.lower() for k in self.known}
        self.bases = bases

    def text(self, s):
        for b in self.bases:
            s = s.replace(b, '<base>')
        return s

    def message(self, s):
        """Fault messages: only per-side values (request ids, ids of objects
        created during the run, base URLs) are replaced."""
        s = REQ_ANY_RE.sub('<request-id>', self.text(s))
        return UUID_ANY_RE.sub(
            lambda m: m.group(0) if m.group(0).lower() in self.known_lower else '<uuid>', s)

    def value(self, v, key=None):
        if isinstance(v, dict):
            return {k: self.value(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [self.value(x, key) for x in v]
        if not isinstance(v, str):
            return v
        s = self.text(v)
        if key == 'traceback':
            return '<traceback>'
        if key == 'hostId' and HOSTID_RE.match(s):
            return '<hostId>'
        s = REQ_RE.sub('<request-id>', s)
        if UUID_RE.match(s):
            return s if s in self.known else '<uuid>'
        if MAC_RE.match(s):
            return '<mac>'
        if NOVA_TS_RE.match(s):
            return '<timestamp>'
        if key == 'ip_address' or ('.' in s or ':' in s) and len(s) <= 45:
            try:
                ipaddress.ip_address(s)
                return '<ip>'
            except ValueError:
                pass
        return s


def tname(v):
    return {dict: 'object', list: 'array', str: 'string', bool: 'bool',
            int: 'int', float: 'float', type(None): 'null'}.get(type(v), '?')


def deep_diff(a, b, path, out, limit=6):
    if len(out) >= limit:
        return
    if type(a) is not type(b):
        out.append('%s: %s %s vs %s %s' % (path or '$', tname(a), short(a),
                                            tname(b), short(b)))
        return
    if isinstance(a, dict):
        ka, kb = list(a), list(b)
        if set(ka) != set(kb):
            miss = [k for k in ka if k not in b]
            extra = [k for k in kb if k not in a]
            out.append('%s: keys %s; porthole lacks %s, has extra %s'
                       % (path or '$', ka, miss, extra))
        elif ka != kb:
            out.append('%s: key order %s vs %s' % (path or '$', ka, kb))
        for k in ka:
            if k in b:
                deep_diff(a[k], b[k], '%s.%s' % (path, k) if path else k, out, limit)
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append('%s: %d items vs %d' % (path or '$', len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            deep_diff(x, y, '%s[%d]' % (path, i), out, limit)
    elif a != b:
        out.append('%s: %s vs %s' % (path or '$', short(a), short(b)))


def short(v, n=160):
    s = json.dumps(v) if not isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[:n] + '...'


def header_values(headers, name):
    return [v for k, v in headers if k.lower() == name]


def compare_headers(ho, hp):
    reasons = []
    for name in CHECKED_HEADERS:
        vo, vp = header_values(ho, name), header_values(hp, name)
        if name == 'vary':
            so = sorted({t.strip() for v in vo for t in v.split(',') if t.strip()})
            sp = sorted({t.strip() for v in vp for t in v.split(',') if t.strip()})
            if so != sp:
                reasons.append('Vary %s vs %s' % (so, sp))
        elif name in ('x-openstack-request-id', 'x-compute-request-id'):
            if bool(vo) != bool(vp):
                reasons.append('%s %s vs %s' % (name, 'present' if vo else 'absent',
                                                'present' if vp else 'absent'))
            elif vp and not all(REQ_RE.fullmatch(v) for v in vp):
                reasons.append('%s value %r is not req-<uuid>' % (name, vp))
        else:
            if vo != vp:
                reasons.append('%s %s vs %s' % (
                    name, vo[0] if len(vo) == 1 else (vo or 'absent'),
                    vp[0] if len(vp) == 1 else (vp or 'absent')))
    return reasons


def parse_json(data):
    if not data:
        return None, False
    try:
        return json.loads(data.decode('utf-8')), True
    except (ValueError, UnicodeDecodeError):
        return None, False


def fault_of(js):
    if (isinstance(js, dict) and len(js) == 1):
        name, v = next(iter(js.items()))
        if isinstance(v, dict) and 'message' in v and 'code' in v:
            return name, v
    return None


def filter_actions(js, side, server_id):
    """Drop the actions that existed on this side before the run."""
    pre = side.preexisting.get(server_id, set())
    if isinstance(js, dict) and isinstance(js.get('instanceActions'), list):
        js = dict(js)
        js['instanceActions'] = [a for a in js['instanceActions']
                                 if a.get('request_id') not in pre]
    return js


def compare(case, ro, rp, so, sp, norm):
    (sto, ho, bo), (stp, hp, bp) = ro, rp
    reasons = []
    if sto != stp:
        reasons.append('status %s vs %s' % (sto, stp))
    jo, okj_o = parse_json(bo)
    jp, okj_p = parse_json(bp)
    if case.get('actions_of'):
        jo = filter_actions(jo, so, case['actions_of'])
        jp = filter_actions(jp, sp, case['actions_of'])
    fo, fp = fault_of(jo) if okj_o else None, fault_of(jp) if okj_p else None
    if fo or fp:
        if not (fo and fp):
            reasons.append('body %s vs %s' % (
                'fault %s %r' % (fo[0], fo[1]['message']) if fo else short(bo.decode('utf-8', 'replace')),
                'fault %s %r' % (fp[0], fp[1]['message']) if fp else short(bp.decode('utf-8', 'replace'))))
        else:
            if fo[0] != fp[0]:
                reasons.append('fault %s vs %s' % (fo[0], fp[0]))
            if fo[1].get('code') != fp[1].get('code'):
                reasons.append('fault code %s vs %s' % (fo[1].get('code'), fp[1].get('code')))
            mo, mp = fo[1]['message'], fp[1]['message']
            if not (isinstance(mo, str) and isinstance(mp, str)
                    and norm.message(mo) == norm.message(mp)):
                reasons.append('message %r vs %r' % (mo, mp))
            if list(fo[1]) != list(fp[1]):
                reasons.append('fault keys %s vs %s' % (list(fo[1]), list(fp[1])))
    elif okj_o and okj_p:
        out = []
        deep_diff(norm.value(jo), norm.value(jp), '', out)
        reasons += ['body ' + o for o in out]
    elif okj_o != okj_p:
        reasons.append('body %s vs %s' % ('JSON' if okj_o else repr(bo[:120]),
                                          'JSON' if okj_p else repr(bp[:120])))
    elif norm.text(bo.decode('utf-8', 'replace')) != norm.text(bp.decode('utf-8', 'replace')):
        reasons.append('body %r vs %r' % (bo[:160], bp[:160]))
    reasons += compare_headers(ho, hp)
    if case.get('check'):
        co, cp = case['check'](jo, ho), case['check'](jp, hp)
        if co != cp:
            reasons.append('%s: %r vs %r' % (case.get('check_name', 'check'), co, cp))
    return reasons


# --------------------------------------------------------------------------
# The cases
def build_cases(W):
    P = W['project_id']
    S = W['servers']
    NET = W['networks']['network_1']
    FREE = W['ports']['free']
    INUSE = W['ports']['in_use_by_other_device']
    PORT1 = W['ports']['port_1_bound_to_active_with_port_1']
    PORT2 = W['ports']['port_2_booted_on_active']
    C = '/v2.1/%s' % P

    member = ('fake', P, 'reader,member')
    admin = ('admin', P, 'reader,member,admin')
    reader = ('fake', P, 'reader')
    noroles = ('fake', P, '')
    other_member = ('fake', OTHER_PROJECT, 'reader,member')
    other_admin = ('admin', OTHER_PROJECT, 'reader,member,admin')

    def L(s, prj=True):
        return '%s/servers/%s/os-interface' % (C if prj else '/v2.1', s)

    def I(s, p, prj=True):
        return '%s/%s' % (L(s, prj), p)

    def IA(s, r=None):
        base = '%s/servers/%s/os-instance-actions' % (C, s)
        return base if r is None else '%s/%s' % (base, r)

    def att(**kw):
        return {'interfaceAttachment': kw}

    cases = []

    def case(cid, method, path, role=member, mv=None, legacy=None, extra=(),
             body=None, ctype='application/json', **kw):
        hdrs = []
        if mv is not None:
            hdrs.append(('OpenStack-API-Version', 'compute %s' % mv))
        if legacy is not None:
            hdrs.append(('X-OpenStack-Nova-API-Version', legacy))
        hdrs += list(extra)
        if isinstance(body, (dict, list)) or body is JSON_NULL:
            body = b'null' if body is JSON_NULL else json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        if body is not None and ctype and not any(
                k.lower() == 'content-type' for k, _ in hdrs):
            hdrs.append(('Content-Type', ctype))
        c = dict(id=cid, method=method, path=path, role=role, headers=hdrs,
                 body=body)
        c.update(kw)
        assert not any(x['id'] == cid for x in cases), cid
        cases.append(c)
        return c

    def settle_detach(server, port_key=None, port=None):
        return {'kind': 'detach', 'server': server, 'port': port,
                'port_var': port_key}

    def attach_detach(prefix, server, port, role, mv=None, body=None):
        case('%s-attach' % prefix, 'POST', L(server), role, mv=mv,
             body=body or att(port_id=port))
        case('%s-detach' % prefix, 'DELETE', I(server, port), role,
             settle=settle_detach(server, port=port))

    # ---------------- 1. version documents and other paths
    for cid, path in (('V01-root', '/'), ('V02-v2.1', '/v2.1'),
                      ('V03-v2.1-slash', '/v2.1/'), ('V04-v2.1-PRJ', '/v2.1/%s' % P),
                      ('V05-v2.1-PRJ-slash', '/v2.1/%s/' % P), ('V06-v2', '/v2'),
                      ('V07-v2-slash', '/v2/'), ('V08-versions-v2.1', '/v2.1/versions/v2.1'),
                      ('V09-versions-v3', '/v2.1/versions/v3'), ('V10-foo', '/foo'),
                      ('V11-versions-v2.0', '/v2.1/versions/v2.0'),
                      ('V12-v3', '/v3'), ('V13-v2.1-versions', '/v2.1/versions'),
                      ('V14-v2-PRJ', '/v2/%s' % P), ('V15-v2.1-PRJ-foo', '/v2.1/%s/foo' % P)):
        case(cid, 'GET', path)
    case('V16-root-head', 'HEAD', '/')
    case('V17-root-post', 'POST', '/', body={})
    case('V18-root-mv-2.105', 'GET', '/', mv='2.105')
    case('V19-v2.1-latest', 'GET', '/v2.1/', mv='latest')
    case('V20-v2.1-mv-2.105', 'GET', '/v2.1/', mv='2.105')
    case('V21-v2.1-xml-ctype', 'GET', '/v2.1/', extra=[('Content-Type', 'application/xml')])
    case('V22-v2-mv-2.105', 'GET', '/v2/', mv='2.105')
    case('V23-v2.1-head', 'HEAD', '/v2.1/')
    case('V24-foo-bar-accept-json', 'GET', '/foo/bar', extra=[('Accept', 'application/json')])

    # ---------------- 2. microversion headers (GET list on active)
    act = S['active']
    mvs = [('M01-none', None, None, ()), ('M02-2.70', '2.70', None, ()),
           ('M03-latest', 'latest', None, ()), ('M04-2.01', '2.01', None, ()),
           ('M05-LATEST', 'LATEST', None, ()), ('M06-2', '2', None, ()),
           ('M07-2.1.0', '2.1.0', None, ()), ('M08-2.105', '2.105', None, ()),
           ('M09-2.0', '2.0', None, ()), ('M10-3.0', '3.0', None, ()),
           ('M11-legacy-2.5', None, '2.5', ()), ('M12-legacy-latest', None, 'latest', ()),
           ('M13-legacy-2.105', None, '2.105', ()), ('M14-legacy-2.01', None, '2.01', ()),
           ('M15-legacy-2.3,2.7', None, '2.3, 2.7', ()),
           ('M16-std-2.10+legacy-2.5', '2.10', '2.5', ()),
           ('M17-std-volume+legacy-2.5', None, '2.5',
            [('OpenStack-API-Version', 'volume 3.0')]),
           ('M18-Compute-2.70', None, None, [('OpenStack-API-Version', 'Compute 2.70')]),
           ('M19-compute-2.70,volume', None, None,
            [('OpenStack-API-Version', 'compute 2.70, volume 3.0')]),
           ('M20-two-lines', None, None, [('OpenStack-API-Version', 'compute 2.5'),
                                          ('OpenStack-API-Version', 'compute 2.70')]),
           ('M21-volume-only', None, None, [('OpenStack-API-Version', 'volume 3.0')]),
           ('M22-empty-value', None, None, [('OpenStack-API-Version', '')]),
           ('M23-compute-no-version', None, None, [('OpenStack-API-Version', 'compute')]),
           ('M24-two-spaces', None, None, [('OpenStack-API-Version', 'compute  2.70')]),
           ('M25-2.104', '2.104', None, ()), ('M26-2.69', '2.69', None, ())]
    for cid, mv, legacy, extra in mvs:
        case(cid, 'GET', L(act), mv=mv, legacy=legacy, extra=extra)
    case('M27-show-latest', 'GET', I(act, PORT2), mv='latest')
    case('M28-2.105-invalid-body', 'POST', L(S['suspended']), mv='2.105', body='{bad')

    # ---------------- 3. Content-Type
    sus = S['suspended']
    case('T01-get-xml', 'GET', L(act), extra=[('Content-Type', 'application/xml')])
    case('T02-post-xml', 'POST', L(sus), body=att(port_id=FREE[5]),
         ctype='application/xml')
    case('T03-delete-xml', 'DELETE', I(sus, FREE[5]),
         extra=[('Content-Type', 'application/xml')])
    case('T04-get-text-html', 'GET', L(act), extra=[('Content-Type', 'text/html')])
    case('T05-get-application-JSON', 'GET', L(act),
         extra=[('Content-Type', 'application/JSON')])
    case('T06-post-xml-mv-2.105', 'POST', L(sus), mv='2.105', body=att(port_id=FREE[5]),
         ctype='application/xml')
    case('T07-post-text-plain-malformed', 'POST', L(sus), body='{bad', ctype='text/plain')
    case('T08-post-json-charset', 'POST', L(sus), body=att(port_id=FREE[5]),
         ctype='application/json; charset=utf-8')
    case('T09-post-no-ctype', 'POST', L(sus), body=att(port_id=FREE[5]), ctype=None)
    case('T10-show-accept-vnd', 'GET', I(act, PORT2),
         extra=[('Accept', 'application/vnd.openstack.compute+json')])
    case('T11-show-accept-xml', 'GET', I(act, PORT2), extra=[('Accept', 'application/xml')])
    case('T12-fault-accept-xml', 'GET', I(act, 'abc'), extra=[('Accept', 'application/xml')])
    case('T13-post-xml-malformed', 'POST', L(sus), body='{bad', ctype='application/xml')

    # ---------------- 4. body parsing (suspended server: a wrongly accepted
    # body meets 409, never an attach)
    case('B01-malformed-json', 'POST', L(sus), body='{bad')
    case('B02-empty-body-cl0', 'POST', L(sus), body=b'')
    case('B03-no-body-no-cl', 'POST', L(sus), extra=[('Content-Type', 'application/json')])
    case('B04-json-null', 'POST', L(sus), body=JSON_NULL)
    case('B05-invalid-utf8-body', 'POST', L(sus),
         body=b'{"interfaceAttachment": {"port_id": "\xff"}}')
    case('B06-array', 'POST', L(sus), body=[])
    case('B07-string', 'POST', L(sus), body='"str"')
    case('B09-body-too-large', 'POST', L(sus), body=b'{' + b' ' * 119999)
    case('B10-body-at-size-limit', 'POST', L(sus), body=b'{' + b' ' * 114687)
    case('B11-body-too-large-accept-json', 'POST', L(sus), body=b'{' + b' ' * 119999,
         extra=[('Accept', 'application/json')])
    case('B08-delete-with-body', 'DELETE', I(act, FREE[0]), body='{bad json',
         settle={'kind': 'sleep', 'seconds': 1.0})

    # ---------------- 5. validation messages (spec 3.1) and multi-error cases
    ip2 = [{'ip_address': '1.1.1.1'}, {'ip_address': '1.1.1.2'}]
    val = [
        ('X01-wrong-root-key', None, {'foo': {}}),
        ('X02-extra-root-key', None, {'interfaceAttachment': {}, 'x': 1}),
        ('X03-ia-null', None, {'interfaceAttachment': None}),
        ('X04-ia-unknown-key', None, att(foo='bar')),
        ('X05-tag-at-2.1', None, att(net_id=NET, tag='foo')),
        ('X06-tag-at-2.48', '2.48', att(net_id=NET, tag='foo')),
        ('X07-net-id-non-uuid', None, att(net_id='non_uuid')),
        ('X08-port-id-int', None, att(port_id=123)),
        ('X09-net-id-null', None, att(net_id=None)),
        ('X10-fixed-ips-string', None, att(fixed_ips='non_array')),
        ('X11-fixed-ips-empty', None, att(fixed_ips=[])),
        ('X12-fixed-ips-two', None, att(fixed_ips=ip2)),
        ('X13-fixed-ips-empty-item', None, att(fixed_ips=[{}])),
        ('X14-fixed-ips-subnet-id', None,
         att(fixed_ips=[{'ip_address': '1.1.1.1', 'subnet_id': FIXTURE_SUBNET_ID}])),
        ('X15-ip-256', None, att(net_id=NET, fixed_ips=[{'ip_address': '10.0.0.256'}])),
        ('X16-tag-comma', '2.49', att(net_id=NET, tag=',')),
        ('X17-tag-slash', '2.49', att(net_id=NET, tag='a/b')),
        ('X18-tag-empty', '2.49', att(net_id=NET, tag='')),
        ('X19-tag-61', '2.49', att(net_id=NET, tag='x' * 61)),
        ('X20-tag-null', '2.49', att(net_id=NET, tag=None)),
        ('X21-tag-int', '2.104', att(net_id=NET, tag=5)),
        ('X22-port-id-null', None, att(port_id=None)),
        ('X23-ia-string', None, {'interfaceAttachment': 'x'}),
        ('Y01-multi-net-bad-port-int', None, att(net_id='x', port_id=5)),
        ('Y02-multi-reversed', None, {'interfaceAttachment': {'port_id': 5, 'net_id': 'x'}}),
        ('Y03-multi-foo-net-bad', None, {'interfaceAttachment': {'foo': 1, 'net_id': 'bad'}}),
        ('Y04-multi-net-bad-foo', None, {'interfaceAttachment': {'net_id': 'bad', 'foo': 1}}),
        ('Y05-multi-tag-net-bad-2.1', None, {'interfaceAttachment': {'tag': 'a', 'net_id': 'bad'}}),
        ('Y06-multi-fixed-empty-net-int', None, {'interfaceAttachment': {'fixed_ips': [], 'net_id': 1}}),
        ('Y07-multi-fixed-bad-port-int', None,
         {'interfaceAttachment': {'fixed_ips': [{'ip_address': 'x'}], 'port_id': 5}}),
        ('Y08-multi-root-x-net-bad', None, {'x': 1, 'interfaceAttachment': {'net_id': 'bad'}}),
        ('Y09-multi-net-bad-root-x', None, {'interfaceAttachment': {'net_id': 'bad'}, 'x': 1}),
        ('Y10-multi-root-x-y', None, {'x': 1, 'y': 2, 'interfaceAttachment': {}}),
        ('Y11-multi-ia-b-a', None, {'interfaceAttachment': {'b': 1, 'a': 2}}),
        ('Y12-ia-array', None, {'interfaceAttachment': []}),
        ('Y13-port-id-empty', None, att(port_id='')),
        ('Y14-ip-leading-zero', None, att(net_id=NET, fixed_ips=[{'ip_address': '192.168.01.1'}])),
        ('Y15-ip-int', None, att(net_id=NET, fixed_ips=[{'ip_address': 5}])),
        ('Y16-net-id-nested', None, att(net_id={'a': [1, True, None, 1.5]})),
        ('Y17-port-id-true', None, att(port_id=True)),
        ('Y18-port-id-float', None, att(port_id=1.0)),
        ('Y19-tag-comma-at-2.1', None, att(tag=',')),
        ('Y20-ip-zone-id', None, att(net_id=NET, fixed_ips=[{'ip_address': 'fe80::1%eth0'}])),
        ('Y21-non-ascii-key', None, {'interfaceAttachment': {'h\u00e9': 1}}),
    ]
    for cid, mv, body in val:
        case(cid, 'POST', L(sus), mv=mv, body=body)
    case('Y22-schema-beats-404', 'POST', L(UNKNOWN_SERVER), body=att(net_id='bad'))
    case('Y23-schema-beats-policy', 'POST', L(sus), reader, body=att(net_id='bad'))

    # ---------------- 6. semantic checks
    case('Z01-both-ids-locked', 'POST', L(S['locked']), body=att(net_id=NET, port_id=FREE[5]))
    case('Z02-both-ids-suspended', 'POST', L(sus), body=att(net_id=NET, port_id=FREE[5]))
    case('Z03-both-ids-fixed-ip', 'POST', L(sus),
         body=att(net_id=NET, port_id=FREE[5], fixed_ips=[{'ip_address': '192.168.1.77'}]))
    case('Z04-fixed-ip-no-net', 'POST', L(sus), body=att(fixed_ips=[{'ip_address': '1.1.1.1'}]))
    case('Z05-fixed-ip-port-no-net', 'POST', L(sus),
         body=att(port_id=FREE[5], fixed_ips=[{'ip_address': '1.1.1.1'}]))
    case('Z06-reader-both-ids', 'POST', L(sus), reader, body=att(net_id=NET, port_id=FREE[5]))
    case('Z07-suspended-unknown-port', 'POST', L(sus), body=att(port_id=UNKNOWN_PORT))
    case('Z08-both-ids-unknown-server', 'POST', L(UNKNOWN_SERVER),
         body=att(net_id=NET, port_id=FREE[5]))

    # ---------------- 7. project id in the URL
    case('P01-project-mismatch', 'GET', '/v2.1/%s/servers/%s/os-interface' % (OTHER_PROJECT, act))
    case('P02-project-mismatch-admin', 'GET',
         '/v2.1/%s/servers/%s/os-interface' % (OTHER_PROJECT, act), admin)
    case('P03-project-mismatch-bad-body', 'POST',
         '/v2.1/%s/servers/%s/os-interface' % (OTHER_PROJECT, sus), body=att(net_id='bad'))
    case('P04-project-upper-case', 'GET', '/v2.1/%s/servers/%s/os-interface' % (P.upper(), act))
    case('P05-project-letters', 'GET', '/v2.1/xyz/servers/%s/os-interface' % act)
    case('P06-no-project', 'GET', L(act, prj=False))
    case('P07-no-project-show', 'GET', I(act, PORT2, prj=False))

    # ---------------- 8. methods and routing
    case('H01-head-list', 'HEAD', L(act))
    case('H02-head-show', 'HEAD', I(act, PORT2))
    case('H03-put-list', 'PUT', L(act), body={})
    case('H04-patch-show', 'PATCH', I(act, PORT2), body={})
    case('H05-options-list', 'OPTIONS', L(act))
    case('H06-options-preflight', 'OPTIONS', L(act),
         extra=[('Origin', 'http://example.com'),
                ('Access-Control-Request-Method', 'POST')])
    case('H07-post-on-show-path', 'POST', I(sus, FREE[5]), body=att(port_id=FREE[5]))
    case('H08-delete-on-list-path', 'DELETE', L(sus))
    case('H09-put-accept-json', 'PUT', L(act), body={}, extra=[('Accept', 'application/json')])
    case('H10-put-accept-any', 'PUT', L(act), body={}, extra=[('Accept', '*/*')])
    case('H11-trailing-slash', 'GET', L(act) + '/')
    case('H12-double-slash', 'GET', '%s/servers/%s//os-interface' % (C, act))
    case('H13-list-dot-json', 'GET', L(act) + '.json')
    case('H14-show-dot-json', 'GET', I(act, PORT2 + '.json'))
    case('H15-post-instance-actions', 'POST', IA(act), body={})
    inbound = 'req-11111111-2222-3333-4444-555555555555'
    case('H16-inbound-request-id', 'GET', L(act),
         extra=[('X-OpenStack-Request-ID', inbound)],
         check=lambda js, h: inbound in header_values(h, 'x-openstack-request-id'),
         check_name='inbound X-OpenStack-Request-ID echoed')

    # ---------------- 9. query strings
    case('Q01-list-foo-2.101', 'GET', L(act) + '?foo=1', mv='2.101')
    case('Q02-list-foo-2.102', 'GET', L(act) + '?foo=1', mv='2.102')
    case('Q03-show-foo-2.101', 'GET', I(act, PORT2) + '?foo=1', mv='2.101')
    case('Q04-show-foo-2.102', 'GET', I(act, PORT2) + '?foo=1', mv='2.102')
    case('Q05-list-foo-bar-2.102', 'GET', L(act) + '?foo=1&bar=2', mv='2.102')
    case('Q06-list-bar-foo-2.102', 'GET', L(act) + '?bar=2&foo=1', mv='2.102')
    case('Q07-list-foo-foo-2.102', 'GET', L(act) + '?foo=1&foo=2', mv='2.102')
    case('Q08-list-foo-novalue-2.102', 'GET', L(act) + '?foo', mv='2.102')
    case('Q09-unknown-server-foo-2.102', 'GET', L(UNKNOWN_SERVER) + '?foo=1', mv='2.102')
    case('Q10-list-bad-utf8-2.101', 'GET', L(act) + '?%ff=1', mv='2.101')
    case('Q11-list-bad-utf8-2.102', 'GET', L(act) + '?%ff=1', mv='2.102')
    case('Q12-list-foo-latest', 'GET', L(act) + '?foo=1', mv='latest')
    case('Q13-show-abc-foo-2.102', 'GET', I(act, 'abc') + '?foo=1', mv='2.102')
    case('Q14-list-empty-query-2.102', 'GET', L(act) + '?', mv='2.102')

    # ---------------- 10. list and show
    case('G01-list-active-2.70', 'GET', L(act), admin, mv='2.70')
    case('G02-show-port2-2.1', 'GET', I(act, PORT2))
    case('G03-show-port2-2.70', 'GET', I(act, PORT2), mv='2.70')
    case('G04-show-abc', 'GET', I(act, 'abc'))
    case('G05-show-unknown-uuid', 'GET', I(act, '00000000-0000-0000-0000-000000001234'))
    case('G06-show-port-of-other-server', 'GET', I(act, PORT1))
    case('G07-show-free-port', 'GET', I(act, FREE[0]))
    case('G08-show-upper-port', 'GET', I(act, PORT2.upper()))
    case('G09-show-unknown-server', 'GET', I(UNKNOWN_SERVER, PORT2))
    case('G10-list-server-abc', 'GET', L('abc'))
    case('G11-list-upper-server', 'GET', L(act.upper()))
    case('G12-list-hyphenless-server', 'GET', L(act.replace('-', '')))
    case('G13-list-other-project-member', 'GET', L(act, prj=False), other_member)
    case('G14-list-other-project-admin', 'GET', L(act, prj=False), other_admin)
    case('G15-show-other-project-member', 'GET', I(act, PORT2, prj=False), other_member)
    case('G16-list-reader', 'GET', L(act), reader)
    case('G17-list-no-roles', 'GET', L(act), noroles)
    case('G18-show-no-roles', 'GET', I(act, PORT2), noroles)
    case('G19-list-no-network', 'GET', L(S['active_no_network']))
    case('G20-list-port1-server', 'GET', L(S['active_with_port_1']), mv='2.70')
    case('G21-show-in-use-port', 'GET', I(act, INUSE))

    # ---------------- 11. instance actions on active_no_network
    nn = S['active_no_network']

    def note_action(key):
        return {'kind': 'action', 'server': nn, 'var': key}

    case('A01-attach-ok', 'POST', L(nn), body=att(port_id=FREE[0]),
         after=[note_action('R_attach_ok'), ('header', 'H_attach_ok')])
    case('A02-detach-ok', 'DELETE', I(nn, FREE[0]),
         settle=settle_detach(nn, port=FREE[0]), after=[note_action('R_detach_ok')])
    case('A03-attach-port-not-found', 'POST', L(nn), body=att(port_id=UNKNOWN_PORT),
         after=[note_action('R_attach_nf')])
    case('A04-detach-not-attached', 'DELETE', I(nn, FREE[0]),
         settle={'kind': 'sleep', 'seconds': 1.5}, after=[note_action('R_detach_na')])
    case('A05-attach-in-use', 'POST', L(nn), body=att(port_id=INUSE),
         after=[note_action('R_attach_inuse')], settle={'kind': 'sleep', 'seconds': 1.0})
    names = ('attach_ok', 'detach_ok', 'attach_nf', 'detach_na', 'attach_inuse')
    for mv in ('2.1', '2.51', '2.58', '2.62', '2.84'):
        for rname, role in (('member', member), ('admin', admin)):
            case('IA-list-%s-%s' % (mv, rname), 'GET', IA(nn), role, mv=mv, actions_of=nn)
            for n in names:
                case('IA-show-%s-%s-%s' % (n, mv, rname), 'GET',
                     (lambda n: lambda v: IA(nn, v.get('R_' + n, UNKNOWN_REQ)))(n),
                     role, mv=mv)
    case('IA-list-no-mv-admin', 'GET', IA(nn), admin, actions_of=nn)
    case('IA-list-2.50-member', 'GET', IA(nn), mv='2.50', actions_of=nn)
    case('IA-list-2.104-admin', 'GET', IA(nn), admin, mv='2.104', actions_of=nn)
    case('IA-show-by-response-request-id', 'GET',
         lambda v: IA(nn, v.get('H_attach_ok', UNKNOWN_REQ)), mv='2.84')
    case('IA-show-unknown', 'GET', IA(nn, UNKNOWN_REQ), mv='2.84')
    case('IA-show-abc', 'GET', IA(nn, 'abc'), admin)
    case('IA-show-upper', 'GET', lambda v: IA(nn, v.get('R_attach_ok', UNKNOWN_REQ).upper()),
         mv='2.84')
    case('IA-show-other-server', 'GET', lambda v: IA(act, v.get('R_attach_ok', UNKNOWN_REQ)),
         mv='2.84')
    case('IA-list-unknown-server', 'GET', IA(UNKNOWN_SERVER), mv='2.84')
    case('IA-list-other-project-member', 'GET',
         '/v2.1/servers/%s/os-instance-actions' % nn, other_member, mv='2.84')
    case('IA-list-reader', 'GET', IA(nn), reader, mv='2.84', actions_of=nn)
    case('IA-show-reader', 'GET', lambda v: IA(nn, v.get('R_attach_inuse', UNKNOWN_REQ)),
         reader, mv='2.84')
    case('IA-list-no-roles', 'GET', IA(nn), noroles, mv='2.84')
    case('IA-show-no-roles', 'GET', lambda v: IA(nn, v.get('R_attach_ok', UNKNOWN_REQ)),
         noroles, mv='2.84')
    case('IA-list-limit-1', 'GET', IA(nn) + '?limit=1', mv='2.58', actions_of=nn)
    case('IA-list-limit-1-no-project', 'GET',
         '/v2.1/servers/%s/os-instance-actions?limit=1' % nn, mv='2.58', actions_of=nn)
    case('IA-list-limit-0', 'GET', IA(nn) + '?limit=0', mv='2.58', actions_of=nn)
    case('IA-list-limit-2-marker', 'GET',
         lambda v: IA(nn) + '?limit=2&marker=%s' % v.get('R_detach_na', UNKNOWN_REQ),
         mv='2.58', actions_of=nn)
    case('IA-list-limit-1-2.57', 'GET', IA(nn) + '?limit=1', mv='2.57', actions_of=nn)
    case('IA-list-foo-2.58', 'GET', IA(nn) + '?foo=1', mv='2.58')
    case('IA-list-foo-bar-2.58', 'GET', IA(nn) + '?foo=1&bar=2', mv='2.58')
    case('IA-list-changes-before-2.58', 'GET', IA(nn) + '?changes-before=2999-01-01', mv='2.58')
    case('IA-list-changes-before-2.66', 'GET', IA(nn) + '?changes-before=2999-01-01T00:00:00Z',
         mv='2.66', actions_of=nn)
    case('IA-list-changes-since-bad', 'GET', IA(nn) + '?changes-since=bad', mv='2.58')
    case('IA-list-since-after-before', 'GET',
         IA(nn) + '?changes-since=2999-01-01&changes-before=2000-01-01', mv='2.66')
    case('IA-list-marker-bad', 'GET', IA(nn) + '?marker=bad', mv='2.58')
    case('IA-list-limit-negative', 'GET', IA(nn) + '?limit=-1', mv='2.58')
    case('IA-list-limit-empty', 'GET', IA(nn) + '?limit=', mv='2.58')
    case('IA-list-limit-twice', 'GET', IA(nn) + '?limit=1&limit=2', mv='2.58')
    case('IA-show-foo-2.101', 'GET', lambda v: IA(nn, v.get('R_attach_ok', UNKNOWN_REQ)) + '?foo=1',
         mv='2.101')
    case('IA-show-foo-2.102', 'GET', lambda v: IA(nn, v.get('R_attach_ok', UNKNOWN_REQ)) + '?foo=1',
         mv='2.102')

    # ---------------- 12. attach/detach by port_id per server state
    f1 = FREE[1]
    attach_detach('S01-stopped-member', S['stopped'], f1, member)
    attach_detach('S02-stopped-admin', S['stopped'], f1, admin)
    attach_detach('S03-paused-member', S['paused'], f1, member)
    attach_detach('S04-paused-admin', S['paused'], f1, admin)
    attach_detach('S05-active-member', act, f1, member)
    attach_detach('S06-active-admin', act, f1, admin)
    attach_detach('S07-active-port1-member', S['active_with_port_1'], f1, member)
    attach_detach('S08-no-network-admin', nn, f1, admin)
    for st in ('suspended', 'building', 'error'):
        for rname, role in (('member', member), ('admin', admin)):
            case('S-%s-%s-attach' % (st, rname), 'POST', L(S[st]), role,
                 body=att(port_id=FREE[5]))
            case('S-%s-%s-detach' % (st, rname), 'DELETE', I(S[st], FREE[5]), role)
    lk = S['locked']
    case('S09-locked-member-attach', 'POST', L(lk), body=att(port_id=FREE[2]))
    case('S10-locked-admin-attach', 'POST', L(lk), admin, body=att(port_id=FREE[2]))
    case('S11-locked-list', 'GET', L(lk), mv='2.70')
    case('S12-locked-member-detach', 'DELETE', I(lk, FREE[2]))
    case('S13-locked-admin-detach', 'DELETE', I(lk, FREE[2]), admin,
         settle=settle_detach(lk, port=FREE[2]))
    case('S14-locked-member-invalid-body', 'POST', L(lk), body=att(port_id=5))
    case('S15-building-unknown-port', 'POST', L(S['building']), body=att(port_id=UNKNOWN_PORT))

    # tags
    stp = S['stopped']
    case('TG1-attach-tag-2.70', 'POST', L(stp), mv='2.70', body=att(port_id=f1, tag='t1'))
    case('TG2-list-2.70', 'GET', L(stp), mv='2.70')
    case('TG3-show-2.70', 'GET', I(stp, f1), mv='2.70')
    case('TG4-show-2.69', 'GET', I(stp, f1), mv='2.69')
    case('TG5-list-2.1', 'GET', L(stp))
    case('TG6-detach', 'DELETE', I(stp, f1), mv='2.70', settle=settle_detach(stp, port=f1))
    case('TG7-attach-tag-2.49', 'POST', L(S['paused']), mv='2.49',
         body=att(port_id=f1, tag='t2'))
    case('TG8-show-2.70-after-2.49', 'GET', I(S['paused'], f1), mv='2.70')
    case('TG9-detach', 'DELETE', I(S['paused'], f1), settle=settle_detach(S['paused'], port=f1))

    # ports in use
    f3 = FREE[3]
    case('U01-attach-in-use-other-device', 'POST', L(act), body=att(port_id=INUSE))
    case('U02-attach-in-use-2.104', 'POST', L(act), mv='2.104', body=att(port_id=INUSE))
    case('U03-attach-port1-bound-elsewhere', 'POST', L(act), body=att(port_id=PORT1))
    case('U04-attach-free3', 'POST', L(act), body=att(port_id=f3))
    case('U05-attach-free3-twice', 'POST', L(act), body=att(port_id=f3))
    case('U06-attach-free3-other-server', 'POST', L(nn), body=att(port_id=f3))
    case('U07-show-free3-via-other-server', 'GET', I(nn, f3))
    case('U08-list-active-after-attach', 'GET', L(act), mv='2.70')
    case('U09-detach-free3-2.104', 'DELETE', I(act, f3), mv='2.104',
         settle=settle_detach(act, port=f3))
    case('U10-attach-upper-case-port', 'POST', L(nn), body=att(port_id=FREE[5].upper()))
    case('U11-detach-after-upper-case', 'DELETE', I(nn, FREE[5]),
         settle=settle_detach(nn, port=FREE[5]))

    # networks
    def save_port(var):
        return ('port', var)
    case('N01-attach-net-fixed-ip', 'POST', L(nn), mv='2.70',
         body=att(net_id=NET, fixed_ips=[{'ip_address': '192.168.1.77'}]),
         after=[save_port('net_port')],
         check=lambda js, h: _first_ip(js) == '192.168.1.77',
         check_name='requested fixed IP 192.168.1.77 honoured')
    case('N02-detach-net-port', 'DELETE', lambda v: I(nn, v.get('net_port', UNKNOWN_PORT)),
         settle=settle_detach(nn, port_key='net_port'))
    case('N03-attach-net-only-2.70', 'POST', L(nn), mv='2.70', body=att(net_id=NET, tag='n'),
         after=[save_port('net_port2')],
         check=lambda js, h: _first_ip(js) == '192.168.1.30',
         check_name='new port got the IP 192.168.1.30')
    case('N03b-list-after-net-attach', 'GET', L(nn), mv='2.70')
    case('N03c-detach-net-port2', 'DELETE', lambda v: I(nn, v.get('net_port2', UNKNOWN_PORT)),
         settle=settle_detach(nn, port_key='net_port2'))
    case('N04-attach-unknown-net', 'POST', L(nn), body=att(net_id=UNKNOWN_NET))
    case('N05-attach-empty-object', 'POST', L(nn), body={}, after=[save_port('auto1')])
    case('N06-detach-auto1', 'DELETE', lambda v: I(nn, v.get('auto1', UNKNOWN_PORT)),
         settle=settle_detach(nn, port_key='auto1'))
    case('N07-attach-empty-ia', 'POST', L(nn), body={'interfaceAttachment': {}},
         after=[save_port('auto2')])
    case('N08-detach-auto2', 'DELETE', lambda v: I(nn, v.get('auto2', UNKNOWN_PORT)),
         settle=settle_detach(nn, port_key='auto2'))

    # POST with a query string at 2.102 (attaches, then 400)
    pz = S['paused']
    case('Q20-post-foo-2.102', 'POST', L(pz) + '?foo=1', mv='2.102',
         body=att(port_id=FREE[4]))
    case('Q21-list-after-post-foo', 'GET', L(pz), mv='2.70')
    case('Q22-detach-after-post-foo', 'DELETE', I(pz, FREE[4]),
         settle=settle_detach(pz, port=FREE[4]))
    case('Q23-post-foo-2.101', 'POST', L(pz) + '?foo=1', mv='2.101',
         body=att(port_id=FREE[4]))
    case('Q24-detach-after-post-foo-2.101', 'DELETE', I(pz, FREE[4]) + '?foo=1', mv='2.102',
         settle=settle_detach(pz, port=FREE[4]))

    # detach failures and roles
    case('D01-detach-non-attached', 'DELETE', I(act, FREE[0]),
         settle={'kind': 'sleep', 'seconds': 1.0})
    case('D02-detach-abc', 'DELETE', I(act, 'abc'), settle={'kind': 'sleep', 'seconds': 1.0})
    case('D03-detach-unknown-server', 'DELETE', I(UNKNOWN_SERVER, FREE[0]))
    case('R01-reader-attach', 'POST', L(sus), reader, body=att(port_id=FREE[5]))
    case('R02-reader-detach', 'DELETE', I(act, FREE[0]), reader)
    case('R03-reader-show', 'GET', I(act, PORT2), reader)
    case('R04-no-roles-attach', 'POST', L(sus), noroles, body=att(port_id=FREE[5]))
    case('R05-no-roles-detach', 'DELETE', I(sus, FREE[5]), noroles)
    case('R06-other-project-attach', 'POST', L(sus, prj=False), other_member,
         body=att(port_id=FREE[5]))
    case('R07-other-project-detach', 'DELETE', I(sus, FREE[5], prj=False), other_member)
    case('R08-other-project-admin-show', 'GET', I(act, PORT2, prj=False), other_admin)
    case('R09-reader-detach-invalid-project', 'DELETE',
         '/v2.1/%s/servers/%s/os-interface/%s' % (OTHER_PROJECT, act, FREE[0]), reader)

    # ---------------- 13. end-of-run world
    for name in ('active', 'active_with_port_1', 'active_no_network', 'stopped', 'locked',
                 'paused', 'suspended', 'building', 'error'):
        case('W-list-%s' % name, 'GET', L(S[name]), admin, mv='2.70')
    for name in ('active', 'stopped', 'locked', 'paused', 'suspended', 'building', 'error'):
        case('W-actions-%s' % name, 'GET', IA(S[name]), admin, mv='2.84',
             actions_of=S[name])

    # ---------------- 14. ?_method override (last: the oracle detaches here)
    case('E01-method-override', 'GET', I(nn, FREE[0]) + '?_method=DELETE',
         settle={'kind': 'sleep', 'seconds': 1.0})
    return cases


JSON_NULL = object()


def _first_ip(js):
    try:
        return js['interfaceAttachment']['fixed_ips'][0]['ip_address']
    except (KeyError, IndexError, TypeError):
        return None


# --------------------------------------------------------------------------
# Running
def snapshot_actions(side, W, admin):
    for sid in W['servers'].values():
        try:
            js = get_json(side, '/v2.1/%s/servers/%s/os-instance-actions'
                          % (W['project_id'], sid), admin, '2.58')
            ids = {a['request_id'] for a in js['instanceActions']}
        except (CannotRun, KeyError, TypeError, ValueError) as e:
            print('parity: %s: cannot list the actions of %s (%s)' % (side.name, sid, e),
                  file=sys.stderr)
            ids = set()
        side.preexisting[sid] = ids
        side.known_actions |= ids


def newest_new_action(side, W, admin, server):
    try:
        js = get_json(side, '/v2.1/%s/servers/%s/os-instance-actions'
                      % (W['project_id'], server), admin, '2.58')
    except CannotRun:
        return None
    for a in js.get('instanceActions', []):
        if a['request_id'] not in side.known_actions:
            side.known_actions.add(a['request_id'])
            return a['request_id']
    return None


def do_settle(side, W, admin, settle):
    if not settle:
        return
    if settle['kind'] == 'sleep':
        if side.name == 'oracle':
            time.sleep(settle['seconds'])
        return
    port = settle.get('port') or side.vars.get(settle.get('port_var'))
    if not port:
        return
    path = '/v2.1/%s/servers/%s/os-interface' % (W['project_id'], settle['server'])
    deadline = time.time() + 20
    while time.time() < deadline:
        st, _h, data = side.request('GET', path, admin)
        if st != 200 or port not in data.decode('utf-8', 'replace'):
            break
        time.sleep(0.2)
    if side.name == 'oracle':
        time.sleep(0.3)   # let the compute side finish the action event


def run_case(case, side, W, admin):
    path = case['path'](side.vars) if callable(case['path']) else case['path']
    try:
        st, hdrs, data = side.request(case['method'], path, case['role'],
                                      case['headers'], case['body'])
    except OSError as e:
        st, hdrs, data = None, [], ('<%s>' % e).encode()
    do_settle(side, W, admin, case.get('settle'))
    js, ok = parse_json(data)
    for item in case.get('after', ()):
        if isinstance(item, dict) and item['kind'] == 'action':
            side.vars[item['var']] = newest_new_action(side, W, admin, item['server'])
        elif item[0] == 'header':
            v = header_values(hdrs, 'x-openstack-request-id')
            side.vars[item[1]] = v[0] if v else None
        elif item[0] == 'port':
            try:
                side.vars[item[1]] = js['interfaceAttachment']['port_id']
            except (KeyError, TypeError):
                side.vars[item[1]] = None
    return path, (st, hdrs, data)


def display_path(path, names):
    for value, name in names:
        path = path.replace(value, name)
    return path


def body_for_report(data):
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        return repr(data)


def select_section(argv):
    """`--section nova` (the default), `--section servers` (parity/servers.py)
    or `--section identity` (parity/identity.py)."""
    section = 'nova'
    rest = []
    it = iter(argv)
    for a in it:
        if a == '--section':
            section = next(it, '')
        elif a.startswith('--section='):
            section = a.split('=', 1)[1]
        else:
            rest.append(a)
    return section, rest


def main():
    section, argv = select_section(sys.argv[1:])
    if section == 'identity':
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import identity
        return identity.main(argv)
    if section == 'neutron':
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import neutron
        return neutron.main(argv)
    build, expected = build_cases, EXPECTED_DIFFERENCES
    if section == 'servers':
        global NOVA_TS_RE
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import servers
        NOVA_TS_RE = servers.TIME_RE
        build = lambda W: servers.build_cases(W, OTHER_PROJECT, JSON_NULL)
        expected = servers.EXPECTED_DIFFERENCES
    elif section != 'nova':
        print('parity: unknown --section %r (nova, servers, identity or neutron)' % section,
              file=sys.stderr)
        return 2
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('oracle_info', help="the oracle's info file (nova_oracle.py --info-file)")
    ap.add_argument('porthole_bin', help='path of the porthole binary')
    ap.add_argument('--report', default=os.path.join(tempfile.gettempdir(), 'parity-report.json'),
                    help='JSON report path (default: %(default)s)')
    ap.add_argument('--start-oracle', action='store_true',
                    help='start a fresh private oracle writing ORACLE_INFO, stop it at the end')
    ap.add_argument('--oracle-port', type=int, default=0,
                    help='port for --start-oracle (default: a free one)')
    ap.add_argument('--oracle-python', default=ORACLE_VENV_PY)
    ap.add_argument('--oracle-script', default=ORACLE_SCRIPT)
    ap.add_argument('--keep-seed', help='also write the generated seed TOML here')
    ap.add_argument('--only', help='run only cases whose id contains this string '
                    '(state-changing cases may then leave the worlds apart)')
    args = ap.parse_args(argv)

    logdir = tempfile.mkdtemp(prefix='parity-')
    try:
        if args.start_oracle:
            print('starting a private oracle ...', file=sys.stderr)
            W = start_oracle(args.oracle_info, args.oracle_port or free_port(),
                             args.oracle_python, args.oracle_script, logdir)
        else:
            with open(args.oracle_info) as f:
                W = json.load(f)
        W['_info_path'] = args.oracle_info
        m = re.match(r'^http://127\.0\.0\.1:(\d+)$', W['base_url'])
        if not m:
            raise CannotRun('oracle base_url %r is not http://127.0.0.1:PORT' % W['base_url'])
        oracle = Side('oracle', int(m.group(1)), oracle_auth)
        admin = ('admin', W['project_id'], 'reader,member,admin')
        try:
            http_call(oracle.port, 'GET', '/', [], None, timeout=10)
        except OSError as e:
            raise CannotRun('oracle at %s unreachable: %s' % (W['base_url'], e))
        seed, notes = derive_seed(W, oracle, admin)
        if section == 'servers':
            seed = servers.patch_seed(seed, W, oracle, admin, get_json)
        seed_path = os.path.join(logdir, 'seed.toml')
        with open(seed_path, 'w') as f:
            f.write(seed)
        if args.keep_seed:
            with open(args.keep_seed, 'w') as f:
                f.write(seed)
        for n in notes:
            print('seed note: ' + n, file=sys.stderr)
        _proc, pport = start_porthole(os.path.abspath(args.porthole_bin), seed_path, logdir)
        porthole = Side('porthole', pport, porthole_auth)
        snapshot_actions(oracle, W, admin)
        snapshot_actions(porthole, W, admin)
    except (CannotRun, OSError, KeyError, ValueError) as e:
        print('parity: cannot run: %s' % e, file=sys.stderr)
        return 2

    print('parity: oracle %s (nova %s), porthole %s (%s), logs in %s'
          % (oracle.base, W.get('nova_version'), porthole.base, args.porthole_bin, logdir))
    norm = Norm(_known_ids(W), [oracle.base, porthole.base])
    names = sorted(_names(W), key=lambda x: -len(x[0]))
    cases = build(W)
    if args.only:
        cases = [c for c in cases if args.only in c['id']]
    report = []
    counts = {'SAME': 0, 'DIFF': 0, 'EXPECTED': 0}
    for case in cases:
        po, ro = run_case(case, oracle, W, admin)
        pp, rp = run_case(case, porthole, W, admin)
        reasons = compare(case, ro, rp, oracle, porthole, norm)
        exp = expected.get(case['id'])
        verdict = 'SAME' if not reasons else ('EXPECTED' if exp else 'DIFF')
        counts[verdict] += 1
        shown = display_path(po, names)
        line = '%-8s %-40s %s %s' % (verdict, case['id'], case['method'], shown)
        if reasons:
            line += '  -- ' + ('(%s) ' % exp[0] if exp else '') + '; '.join(reasons)
        print(line)
        report.append({
            'id': case['id'], 'verdict': verdict, 'reasons': reasons,
            'expected': {'code': exp[0], 'reason': exp[1]} if exp else None,
            'method': case['method'], 'path': shown,
            'request_headers': case['headers'],
            'role': {'user': case['role'][0], 'project': case['role'][1],
                     'roles': case['role'][2]},
            'request_body': None if case['body'] is None else (
                body_for_report(case['body']) if len(case['body']) <= 4000 else
                '<%d bytes: %r...>' % (len(case['body']), case['body'][:40])),
            'oracle': {'path': po, 'status': ro[0], 'headers': ro[1],
                       'body': body_for_report(ro[2])},
            'porthole': {'path': pp, 'status': rp[0], 'headers': rp[1],
                         'body': body_for_report(rp[2])},
        })
    n = len(cases)
    summary = 'parity: %d cases, %d identical, %d different, %d expected differences' % (
        n, counts['SAME'], counts['DIFF'], counts['EXPECTED'])
    print(summary)
    with open(args.report, 'w') as f:
        json.dump({'summary': summary, 'counts': dict(counts, cases=n),
                   'oracle': {k: v for k, v in W.items() if not k.startswith('_')},
                   'porthole': {'base_url': porthole.base, 'binary': args.porthole_bin},
                   'seed': seed, 'expected_differences': {
                       k: {'code': c, 'reason': r} for k, (c, r) in expected.items()},
                   'cases': report}, f, indent=1)
    print('parity: report written to %s' % args.report)
    return 0


def _known_ids(W):
    ids = {W['project_id'], OTHER_PROJECT, UNKNOWN_SERVER, UNKNOWN_PORT, UNKNOWN_NET,
           IN_USE_DEVICE, FIXTURE_SUBNET_ID}
    ids |= set(W['servers'].values()) | set(W['networks'].values())
    for v in W['ports'].values():
        ids |= set(v) if isinstance(v, list) else {v}
    return ids


def _names(W):
    out = [(W['project_id'], 'PRJ'), (OTHER_PROJECT, 'OTHERPRJ'),
           (UNKNOWN_SERVER, '{unknown-server}'), (UNKNOWN_PORT, '{unknown-port}')]
    out += [(v, '{%s}' % k) for k, v in W['servers'].items()]
    out += [(v.upper(), '{%s.upper}' % k) for k, v in W['servers'].items()]
    out += [(v.replace('-', ''), '{%s.nohyphen}' % k) for k, v in W['servers'].items()]
    for k, v in W['ports'].items():
        if isinstance(v, list):
            out += [(p, '{free%d}' % i) for i, p in enumerate(v)]
            out += [(p.upper(), '{free%d.upper}' % i) for i, p in enumerate(v)]
        else:
            short_name = {'port_1_bound_to_active_with_port_1': 'port_1',
                          'port_2_booted_on_active': 'port_2',
                          'in_use_by_other_device': 'in_use'}.get(k, k)
            out += [(v, '{%s}' % short_name), (v.upper(), '{%s.upper}' % short_name)]
    return out


if __name__ == '__main__':
    sys.exit(main())
