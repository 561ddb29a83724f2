#!/usr/bin/env python3
"""The everyday clients against porthole, as a user drives them.

    python clients/suite.py PORTHOLE_BIN [BIN_DIR]

Starts PORTHOLE_BIN (builtin auth, memory store, config/seed.example.toml)
on a free port, writes a clouds.yaml with password auth (the catalog gives
the compute and image endpoints), then for each client (python-openstackclient
`openstack`, python-novaclient `nova`, openstacksdk, tempest) and microversion
(2.1, 2.49, 2.70 and the client's default): create a server and wait for
ACTIVE, show and list it, attach the seed's free port, list and show the
interface, see the address in the server, add and remove a port made with
`openstack port create`, add a network, suspend and see attach refused
with Nova's message, resume, detach, stop and start, delete and see it gone.
Checks returned data, not only exit codes; prints one line per client x
microversion x operation; exit status 1 if any line failed.

BIN_DIR (default: the directory of this Python) holds `openstack` and `nova`;
openstacksdk and tempest are imported by the Python that runs this suite
(tempest's checks are SKIP where it is not installed).
`openstack server add/remove port` and `server add network` go through
porthole's network API (`port create`, `port show`, `port list --server`).
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NET = '3cb9bc59-5699-4588-a4b1-b87f96708bc6'
PORT = 'ce531f90-199f-48c0-816c-13e38010b442'
PORT_IP = '192.168.1.3'
IMAGE = 'cirros-0.6.3-x86_64-disk'
RESULTS = []


def report(client, mv, op, ok, detail=''):
    RESULTS.append(ok)
    status = 'PASS' if ok is True else ('SKIP' if ok is None else 'FAIL')
    print('%-4s %-10s %-8s %-28s %s' % (status, client, mv, op, detail), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Env:
    def __init__(self, binary, bin_dir):
        self.bin_dir = bin_dir
        self.dir = tempfile.mkdtemp(prefix='porthole-clients-')
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith('PORTHOLE_')}
        self.proc = subprocess.Popen(
            [binary, 'serve', '--store', 'memory', '--listen', '127.0.0.1:%d' % self.port,
             '--seed', os.path.join(ROOT, 'config', 'seed.example.toml')],
            cwd=self.dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit('porthole did not start')
                time.sleep(0.05)
        self.clouds = os.path.join(self.dir, 'clouds.yaml')
        with open(self.clouds, 'w') as f:
            f.write('clouds:\n  porthole:\n    auth:\n'
                    '      auth_url: http://127.0.0.1:%d/identity/v3\n'
                    '      username: demo\n      password: porthole-demo\n'
                    '      project_name: demo\n      user_domain_name: Default\n'
                    '      project_domain_name: Default\n'
                    '    region_name: RegionOne\n    interface: public\n'
                    '    identity_api_version: 3\n' % self.port)
        self.auth_url = 'http://127.0.0.1:%d/identity/v3' % self.port
        self.env = dict(os.environ, OS_CLIENT_CONFIG_FILE=self.clouds, OS_CLOUD='porthole',
                        OS_AUTH_URL='http://127.0.0.1:%d/identity/v3' % self.port,
                        OS_USERNAME='demo', OS_PASSWORD='porthole-demo',
                        OS_PROJECT_NAME='demo', OS_USER_DOMAIN_NAME='Default',
                        OS_PROJECT_DOMAIN_NAME='Default', OS_REGION_NAME='RegionOne')

    def run(self, program, *args):
        # openstacksdk runs in the Python running this suite.
        exe = sys.executable if program == 'python' else os.path.join(self.bin_dir, program)
        p = subprocess.run([exe] + list(args),
                           env=self.env, capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def check(client, mv, op, fn):
    try:
        ok, detail = fn()
    except Exception as e:  # noqa: BLE001 - one line per failure, then go on
        ok, detail = False, '%s: %s' % (type(e).__name__, str(e)[:200])
    lines = [x for x in str(detail).splitlines() if x.strip() and 'deprecated' not in x]
    report(client, mv, op, ok, lines[-1][:160] if lines else '')
    return ok


def osc_suite(env, mv):
    name = 'osc-%s' % mv.replace('.', '')
    ver = [] if mv == 'default' else ['--os-compute-api-version', mv]
    def osc(*args):
        return env.run('openstack', *(ver + list(args)))

    def create():
        args = ['server', 'create', '--image', IMAGE, '--flavor', 'm1.tiny', '--wait',
                '-f', 'json', name]
        args[-1:-1] = ['--nic', 'none'] if mv != '2.1' else []
        rc, out, err = osc(*args)
        if rc:
            return False, err.strip()[-200:]
        return json.loads(out)['status'] == 'ACTIVE', 'ACTIVE'
    if not check('openstack', mv, 'server create --wait', create):
        return
    def show():
        rc, out, err = osc('server', 'show', name, '-f', 'json')
        js = json.loads(out) if not rc else {}
        return js.get('name') == name and js.get('status') == 'ACTIVE', js.get('id', err[-200:])
    check('openstack', mv, 'server show', show)
    def listed():
        rc, out, _ = osc('server', 'list', '-f', 'json')
        return any(s['Name'] == name for s in json.loads(out)), ''
    check('openstack', mv, 'server list', listed)
    def add_remove_port():
        rc, out, err = osc('port', 'create', '--network', NET, '-f', 'json', name + '-port')
        if rc:
            return False, err.strip()[-200:]
        port = json.loads(out)
        ip = port['fixed_ips'][0]['ip_address']
        osc('server', 'add', 'port', name, port['id'])
        _, bound, _ = osc('port', 'show', port['id'], '-c', 'device_id', '-f', 'value')
        _, addresses, _ = osc('server', 'show', name, '-c', 'addresses', '-f', 'json')
        _, server_id, _ = osc('server', 'show', name, '-c', 'id', '-f', 'value')
        osc('server', 'remove', 'port', name, port['id'])
        _, unbound, _ = osc('port', 'show', port['id'], '-c', 'device_id', '-f', 'value')
        osc('port', 'delete', port['id'])
        ok = bound.strip() == server_id.strip() and ip in addresses and unbound.strip() == ''
        return ok, '%s bound to %s, then unbound' % (ip, bound.strip())
    check('openstack', mv, 'server add/remove port', add_remove_port)
    def add_network():
        def ports():
            rc, out, _ = osc('port', 'list', '--server', name, '-f', 'json')
            return len(json.loads(out)) if not rc else -1
        before = ports()
        osc('server', 'add', 'network', name, NET)
        after = ports()
        return before >= 0 and after == before + 1, '%d -> %d port(s)' % (before, after)
    check('openstack', mv, 'server add network', add_network)
    def stop_start():
        osc('server', 'stop', name)
        _, s1, _ = osc('server', 'show', name, '-c', 'status', '-f', 'value')
        osc('server', 'start', name)
        _, s2, _ = osc('server', 'show', name, '-c', 'status', '-f', 'value')
        rc, _, err = osc('server', 'start', name)
        return (s1.strip(), s2.strip(), rc != 0 and 'vm_state active' in err) == \
            ('SHUTOFF', 'ACTIVE', True), '%s -> %s; start again refused' % (s1.strip(), s2.strip())
    check('openstack', mv, 'server stop/start', stop_start)
    def delete():
        rc, _, err = osc('server', 'delete', '--wait', name)
        rc2, _, err2 = osc('server', 'show', name)
        return rc == 0 and rc2 != 0 and 'No Server found' in err2, err[-200:]
    check('openstack', mv, 'server delete --wait', delete)


def nova_suite(env, mv):
    name = 'nova-%s' % mv.replace('.', '')
    ver = [] if mv == 'default' else ['--os-compute-api-version', mv]
    def nova(*args):
        return env.run('nova', *(ver + list(args)))
    def boot():
        args = ['boot', '--image', IMAGE, '--flavor', 'm1.tiny', '--poll', name]
        if mv not in ('2.1',):
            args[-1:-1] = ['--nic', 'none']
        rc, out, err = nova(*args)
        return rc == 0 and 'ACTIVE' in nova('show', name)[1], (err or out).strip()[-200:]
    if not check('nova', mv, 'boot --poll', boot):
        return
    def attach():
        rc, out, err = nova('interface-attach', '--port-id', PORT, name)
        _, listed, _ = nova('interface-list', name)
        return rc == 0 and PORT in listed and PORT_IP in listed, (err or 'listed').strip()[-200:]
    check('nova', mv, 'interface-attach/list', attach)
    def address():
        _, out, _ = nova('show', name)
        return PORT_IP in out, PORT_IP
    check('nova', mv, 'show (address)', address)
    def suspended_refuses():
        nova('interface-detach', name, PORT)
        nova('suspend', name)
        rc, _, err = nova('interface-attach', '--port-id', PORT, name)
        nova('resume', name)
        return rc != 0 and "while it is in vm_state suspended" in err, err.strip()[-200:]
    check('nova', mv, 'suspend refuses attach', suspended_refuses)
    def delete():
        rc, _, err = nova('delete', name)
        for _ in range(50):
            if nova('show', name)[0] != 0:
                return rc == 0, 'gone'
            time.sleep(0.1)
        return False, err
    check('nova', mv, 'delete', delete)


SDK = r'''
import json, sys, openstack
mv, net, port, ip, image_name = sys.argv[1:6]
conn = openstack.connect(cloud="porthole")
if mv != "default":
    conn.compute.default_microversion = mv
out = {}
image = conn.image.find_image(image_name)
flavor = conn.compute.find_flavor("m1.tiny")
server = conn.compute.create_server(name="sdk-" + mv.replace(".", ""), image_id=image.id,
                                    flavor_id=flavor.id, networks=[{"uuid": net}])
server = conn.compute.wait_for_server(server, status="ACTIVE", wait=30)
out["created"] = server.status
out["own_ports"] = [i.port_id for i in conn.compute.server_interfaces(server)]
att = conn.compute.create_server_interface(server, port_id=port)
out["attached"] = att.port_id
out["shown_ip"] = conn.compute.get_server_interface(port, server=server).fixed_ips[0]["ip_address"]
out["addresses"] = sorted(a["addr"] for n in conn.compute.get_server(server.id).addresses.values() for a in n)
conn.compute.delete_server_interface(port, server=server, ignore_missing=False)
conn.compute.delete_server(server)
conn.compute.wait_for_delete(server, wait=30)
out["gone"] = conn.compute.find_server(server.id) is None
# The port Nova made for the server goes with it (the given one stays).
out["ports_left"] = [p for p in out["own_ports"] if conn.network.find_port(p) is not None]
out["given_port_kept"] = conn.network.find_port(port) is not None
print(json.dumps(out))
'''


def sdk_suite(env, mv):
    def run():
        rc, out, err = env.run('python', '-c', SDK, mv, NET, PORT, PORT_IP, IMAGE)
        if rc:
            return False, err.strip()[-200:]
        js = json.loads(out.strip().splitlines()[-1])
        ok = (js['created'] == 'ACTIVE' and len(js['own_ports']) == 1
              and js['attached'] == PORT and js['shown_ip'] == PORT_IP
              and PORT_IP in js['addresses'] and js['gone']
              and js['ports_left'] == [] and js['given_port_kept'])
        return ok, json.dumps(js)[:200]
    check('sdk', mv, 'create/attach/show/delete (ports)', run)


# tempest's own compute clients, whose every response is checked against
# tempest's JSON schemas for the microversion (`api_microversion`).
TEMPEST = r'''
import json, sys
from tempest.lib import auth
from tempest.lib.services.compute import base_compute_client, interfaces_client, servers_client
auth_url, mv, server, port, ip = sys.argv[1:6]
creds = auth.KeystoneV3Credentials(
    username="demo", password="porthole-demo", project_name="demo",
    user_domain_name="Default", project_domain_name="Default")
provider = auth.KeystoneV3AuthProvider(creds, auth_url)
provider.fill_credentials()
kwargs = dict(service="compute", region="RegionOne", endpoint_type="publicURL")
interfaces = interfaces_client.InterfacesClient(provider, **kwargs)
servers = servers_client.ServersClient(provider, **kwargs)
if mv != "default":
    # tempest sends it, checks the answer's header and picks its schemas by it.
    base_compute_client.COMPUTE_MICROVERSION = mv
out = {}
created = interfaces.create_interface(server, port_id=port)["interfaceAttachment"]
out["attached"] = created["port_id"]
out["tag_shown"] = "tag" in created
out["listed"] = [i["port_id"] for i in interfaces.list_interfaces(server)["interfaceAttachments"]]
shown = interfaces.show_interface(server, port)["interfaceAttachment"]
out["ip"] = shown["fixed_ips"][0]["ip_address"]
out["addresses"] = sorted(a["addr"] for n in servers.show_server(server)["server"]["addresses"].values() for a in n)
interfaces.delete_interface(server, port)
out["left"] = [i["port_id"] for i in interfaces.list_interfaces(server)["interfaceAttachments"]]
print(json.dumps(out))
'''
SERVER = 'afe25d9b-890b-4847-995c-534aa0cb7cc4'


def tempest_suite(env, mv):
    def run():
        rc, out, err = env.run('python', '-c', TEMPEST, env.auth_url, mv, SERVER, PORT, PORT_IP)
        if rc:
            return False, err.strip()[-200:]
        js = json.loads(out.strip().splitlines()[-1])
        ok = (js['attached'] == PORT and PORT in js['listed'] and js['ip'] == PORT_IP
              and PORT_IP in js['addresses'] and PORT not in js['left']
              and js['tag_shown'] == (mv == '2.70'))
        return ok, json.dumps(js)[:200]
    check('tempest', mv, 'interfaces (schema-checked)', run)


def have_tempest():
    probe = subprocess.run([sys.executable, '-c', 'import tempest.lib'], capture_output=True)
    return probe.returncode == 0


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    bin_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(sys.executable)
    env = Env(binary, bin_dir)
    tempest = have_tempest()
    try:
        for mv in ('2.1', '2.49', '2.70', 'default'):
            if os.path.exists(os.path.join(bin_dir, 'openstack')):
                osc_suite(env, mv)
            if os.path.exists(os.path.join(bin_dir, 'nova')):
                nova_suite(env, mv)
            sdk_suite(env, mv)
            if tempest:
                tempest_suite(env, mv)
            else:
                report('tempest', mv, 'interfaces (schema-checked)', None, 'tempest not installed')
    finally:
        env.stop()
    failed = RESULTS.count(False)
    print('clients: %d passed, %d failed, %d skipped'
          % (RESULTS.count(True), failed, RESULTS.count(None)))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
