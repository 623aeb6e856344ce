// Cross-check of pcp/1 SPAKE2 (PROTOCOL.md) against an independent
// implementation: ristretto255 from @noble/curves, SHA-2, HMAC, HKDF and
// BLAKE2b from @noble/hashes. Plays each role against the C program
// (xcheck_spake2) over pipes, for many random codes, and checks that
// both ends derive the same traffic keys, that a wrong code and a bad
// share are refused, and that M and N match their definition.
//
// usage: node spake2.mjs PATH/TO/xcheck_spake2
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { RistrettoPoint } from '@noble/curves/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2';
import { hmac } from '@noble/hashes/hmac';
import { hkdf } from '@noble/hashes/hkdf';
import { blake2b } from '@noble/hashes/blake2b';
import { bytesToHex, hexToBytes, utf8ToBytes, concatBytes } from '@noble/hashes/utils';

const tool = process.argv[2];
const L = RistrettoPoint.Fn.ORDER;
const P = RistrettoPoint.BASE;
const te = utf8ToBytes;
const M = RistrettoPoint.hashToCurve(sha512(te('pcp/1 SPAKE2 ristretto255 M')));
const N = RistrettoPoint.hashToCurve(sha512(te('pcp/1 SPAKE2 ristretto255 N')));
const ID_A = te('pcp/1 receiver'), ID_B = te('pcp/1 sender');

const leToInt = (b) => { let n = 0n; for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]); return n; };
const intToLe32 = (n) => { const o = new Uint8Array(32); for (let i = 0; i < 32; i++) { o[i] = Number(n & 0xffn); n >>= 8n; } return o; };
const len8 = (b) => { const o = new Uint8Array(8); let n = b.length; for (let i = 0; i < 8; i++) { o[i] = n & 0xff; n = Math.floor(n / 256); } return o; };

function passwordScalar(pw) {
    const pers = new Uint8Array(16);
    pers.set(te('pcp1-spake2-pw'));
    return leToInt(blake2b(pw, { dkLen: 64, personalization: pers })) % L;
}

function randomScalar() {
    return leToInt(randomBytes(64)) % L || 1n;
}

// One side of the exchange. role 'A' or 'B'.
function party(role, pw, aad) {
    const w = passwordScalar(pw);
    const x = randomScalar();
    const own = P.multiply(x).add((role === 'A' ? M : N).multiply(w));
    const share = own.toBytes();
    return {
        share,
        finish(peerBytes) {
            const peer = RistrettoPoint.fromBytes(peerBytes); // throws if invalid
            if (peer.is0() || peer.equals(own)) throw new Error('bad share');
            const K = peer.subtract((role === 'A' ? N : M).multiply(w)).multiply(x);
            if (K.is0()) throw new Error('identity K');
            const pA = role === 'A' ? share : peerBytes, pB = role === 'A' ? peerBytes : share;
            const parts = [ID_A, ID_B, pA, pB, K.toBytes(), intToLe32(w)];
            const TT = concatBytes(...parts.flatMap((p) => [len8(p), p]));
            const h = sha256(TT);
            const Ke = h.slice(0, 16), Ka = h.slice(16);
            const kc = hkdf(sha256, Ka, new Uint8Array(0), concatBytes(te('ConfirmationKeys'), te(aad)), 32);
            const cA = hmac(sha256, kc.slice(0, 16), TT), cB = hmac(sha256, kc.slice(16), TT);
            const r2s = hkdf(sha256, Ke, new Uint8Array(0), te('pcp/1 r->s'), 32);
            const s2r = hkdf(sha256, Ke, new Uint8Array(0), te('pcp/1 s->r'), 32);
            return role === 'A'
                ? { mine: cA, theirs: cB, tx: r2s, rx: s2r }
                : { mine: cB, theirs: cA, tx: s2r, rx: r2s };
        },
    };
}

function run(args) {
    const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = [];
    let waiting = null;
    createInterface({ input: child.stdout }).on('line', (l) => {
        if (waiting) { const w = waiting; waiting = null; w(l); } else lines.push(l);
    });
    const exited = new Promise((res) => child.on('close', (code) => res(code)));
    return {
        read: () => new Promise((res, rej) => {
            if (lines.length) return res(lines.shift());
            waiting = res;
            exited.then(() => { if (waiting) { waiting = null; rej(new Error('tool exited')); } });
        }),
        write: (s) => child.stdin.write(s + '\n'),
        exited,
    };
}

const eq = (a, b) => bytesToHex(a) === bytesToHex(b);
let failures = 0;
function check(cond, what) {
    if (!cond) { failures++; console.error('FAIL: ' + what); }
}

// C plays A (receiver), we play B (sender).
async function cAsA(pwC, pwJs, aad) {
    const t = run(['A', bytesToHex(pwC), aad]);
    const pA = hexToBytes(await t.read());
    const me = party('B', pwJs, aad);
    const k = me.finish(pA);
    t.write(bytesToHex(concatBytes(me.share, k.mine)));
    const l = await t.read();
    if (l.startsWith('fail')) return { ok: false, code: await t.exited };
    const cA = hexToBytes(l);
    const keys = (await t.read()).split(' ');
    return { ok: eq(cA, k.theirs) && keys[1] === bytesToHex(k.rx) && keys[2] === bytesToHex(k.tx), code: await t.exited };
}

// C plays B (sender), we play A (receiver).
async function cAsB(pwC, pwJs, aad, tamper, aadJs = aad) {
    const t = run(['B', bytesToHex(pwC), aad]);
    const me = party('A', pwJs, aadJs);
    t.write(bytesToHex(tamper ? tamper(me.share) : me.share));
    const l = await t.read();
    if (l.startsWith('fail')) return { ok: false, code: await t.exited, refusedShare: true };
    const m = hexToBytes(l);
    const k = me.finish(m.slice(0, 32));
    const cbOk = eq(m.slice(32), k.theirs);
    t.write(bytesToHex(k.mine));
    const l2 = await t.read();
    if (l2.startsWith('fail')) return { ok: false, code: await t.exited, cbOk };
    const keys = l2.split(' ');
    return { ok: cbOk && keys[1] === bytesToHex(k.rx) && keys[2] === bytesToHex(k.tx), code: await t.exited };
}

const consts = run(['constants']);
const cm = (await consts.read()).split(' ')[1], cn = (await consts.read()).split(' ')[1];
check(cm === bytesToHex(M.toBytes()) && cn === bytesToHex(N.toBytes()), 'M and N differ from their definition');

const ROUNDS = 25;
for (let i = 0; i < ROUNDS; i++) {
    const nwords = 3 + (i % 5);
    const pw = randomBytes(2 * nwords);
    const aad = 'pcp/1/' + (i * 81 % 2048);
    const a = await cAsA(pw, pw, aad);
    check(a.ok && a.code === 0, `round ${i}: C as receiver did not agree`);
    const b = await cAsB(pw, pw, aad);
    check(b.ok && b.code === 0, `round ${i}: C as sender did not agree`);
}
// Wrong code: both directions refuse, with a non-zero exit.
const pw = randomBytes(6), other = Uint8Array.from(pw);
other[5] ^= 1;
const wa = await cAsA(pw, other, 'pcp/1/9');
check(!wa.ok && wa.code === 1, 'C as receiver accepted a wrong code');
const wb = await cAsB(pw, other, 'pcp/1/9');
check(!wb.ok && wb.code === 1 && wb.cbOk === false, 'C as sender accepted a wrong code');
// Same code, another channel in the AAD: refused.
const wc = await cAsB(pw, pw, 'pcp/1/9', null, 'pcp/1/10');
check(!wc.ok && wc.code === 1 && wc.cbOk === false, 'C as sender accepted a changed AAD');
// Identity and reflected shares: refused before any confirmation.
const id = await cAsB(pw, pw, 'pcp/1/9', () => new Uint8Array(32));
check(id.refusedShare === true && id.code === 1, 'C accepted the identity as a share');

if (failures) {
    console.error(`${failures} check(s) failed`);
    process.exit(1);
}
console.log(`ok: M/N, ${ROUNDS} exchanges in each role, wrong code and identity share refused`);
