import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kcp } from '../transport/kcp/arq.js';
import { AesBlockCrypt, CRYPT_HEADER_SIZE, deriveKcpKey, NoneBlockCrypt, PacketCrypt } from '../transport/kcp/crypt.js';
import { FEC_HEADER_SIZE_PLUS2, FecDecoder, FecEncoder, TYPE_DATA, TYPE_PARITY } from '../transport/kcp/fec.js';
import { openDatagram, PacketPipeline } from '../transport/kcp/packet.js';
import { buildEncodingMatrix, galDivide, galExp, galMultiply, ReedSolomon } from '../transport/kcp/reed-solomon.js';
import { readU16, readU32 } from '../transport/kcp/segment.js';
import { prng } from './helpers/kcp-sim.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The fixed input the Go known-answer program used: shard i, byte k = (i * 31 + k * 7 + 1) & 255. */
function goShards(data: number, parity: number, size: number): Uint8Array[] {
  return Array.from({ length: data + parity }, (_, i) => {
    const s = new Uint8Array(size);
    if (i < data) for (let k = 0; k < size; k++) s[k] = (i * 31 + k * 7 + 1) & 255;
    return s;
  });
}

describe('GF(2^8)', () => {
  it('uses the 0x11d field with generator 2', () => {
    assert.equal(galMultiply(0x80, 2), 0x1d);
    assert.equal(galMultiply(3, 7), 9);
    assert.equal(galExp(2, 8), 0x1d);
    for (let a = 1; a < 256; a++) assert.equal(galMultiply(a, galDivide(1, a)), 1);
  });

  it('builds a systematic encoding matrix (identity on top)', () => {
    const m = buildEncodingMatrix(4, 6);
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) assert.equal(m[r]![c], r === c ? 1 : 0);
  });
});

describe('reed-solomon (klauspost/reedsolomon compatible)', () => {
  // Parity printed by github.com/klauspost/reedsolomon (Debian golang-github-klauspost-reedsolomon-dev, as kcp-go
  // 5.6.1 uses it) for the input of goShards().
  const known: [number, number, number, string[]][] = [
    [
      10,
      3,
      24,
      [
        '0b174524e32a0ebca0f27dca46110a3b15c8da8573e8d193',
        '8cb464cec271ef8e41bf1c5d678264e4740bbb555206f012',
        '8c3b832af68e57702286a6dd6026a588a4330b1e668e1fe6',
      ],
    ],
    [4, 2, 8, ['f9248bd2813047e3', '4523aae9a06801ef']],
    [3, 1, 6, ['1e696c777a05']],
  ];
  for (const [data, parity, size, expected] of known) {
    it(`produces the same parity as the Go library (${data}+${parity})`, () => {
      const rs = new ReedSolomon(data, parity);
      const shards = goShards(data, parity, size);
      rs.encode(shards);
      assert.deepEqual(shards.slice(data).map(hex), expected);
      assert.ok(rs.verify(shards));
    });
  }

  it('reconstructs any combination of up to `parity` lost data shards', () => {
    const random = prng(17);
    const rs = new ReedSolomon(10, 3);
    for (let round = 0; round < 200; round++) {
      const size = 1 + Math.floor(random() * 1400);
      const shards = Array.from({ length: 13 }, () => new Uint8Array(size));
      for (let i = 0; i < 10; i++) for (let k = 0; k < size; k++) shards[i]![k] = Math.floor(random() * 256);
      rs.encode(shards);
      const original = shards.map((s) => s.slice());
      const damaged: (Uint8Array | undefined)[] = [...shards];
      const lose = 1 + Math.floor(random() * 3);
      const lost = new Set<number>();
      while (lost.size < lose) lost.add(Math.floor(random() * 13));
      for (const i of lost) damaged[i] = undefined;
      assert.ok(rs.reconstructData(damaged));
      for (let i = 0; i < 10; i++) assert.deepEqual(damaged[i], original[i], `round ${round}, shard ${i}`);
    }
  });

  it('computes the same parity and reconstructions with WebAssembly SIMD as with per-byte tables', () => {
    const simd = new ReedSolomon(10, 3);
    assert.ok(simd.simd, 'WebAssembly SIMD is available on the Node this project runs on');
    const portable = new ReedSolomon(10, 3, { portable: true });
    assert.equal(portable.simd, false);
    const random = prng(23);
    // Lengths around the 16-byte vector width, and every shard pattern a lost shard can leave.
    for (const size of [1, 15, 16, 17, 31, 33, 1374, 1500]) {
      const shards = Array.from({ length: 13 }, () => new Uint8Array(size));
      for (let i = 0; i < 10; i++) for (let k = 0; k < size; k++) shards[i]![k] = Math.floor(random() * 256);
      const expected = shards.map((s) => s.slice());
      portable.encode(expected);
      simd.encode(shards);
      assert.deepEqual(shards.map(hex), expected.map(hex), `parity, size ${size}`);
      for (let lost = 0; lost < 10; lost++) {
        const damaged: (Uint8Array | undefined)[] = [...shards];
        damaged[lost] = damaged[(lost + 3) % 10] = undefined;
        assert.ok(simd.reconstructData(damaged));
        assert.equal(hex(damaged[lost]!), hex(shards[lost]!));
        assert.equal(hex(damaged[(lost + 3) % 10]!), hex(shards[(lost + 3) % 10]!));
      }
    }
    // Many shards: the kernel's memory grows past its first page and encoders of different shapes share it.
    const wide = new ReedSolomon(200, 50);
    const wideShards = Array.from({ length: 250 }, (_, i) => Uint8Array.from({ length: 600 }, (_, k) => (i * 131 + k * 17) & 255));
    const wideExpected = wideShards.map((s) => s.slice());
    new ReedSolomon(200, 50, { portable: true }).encode(wideExpected);
    wide.encode(wideShards);
    assert.deepEqual(wideShards.slice(200).map(hex), wideExpected.slice(200).map(hex));
    const after = goShards(10, 3, 24);
    simd.encode(after);
    assert.ok(simd.verify(after), 'tables are rewritten when another encoder used the kernel in between');
  });

  it('refuses to reconstruct with fewer than `data` shards', () => {
    const rs = new ReedSolomon(4, 2);
    const shards: (Uint8Array | undefined)[] = goShards(4, 2, 8);
    rs.encode(shards as Uint8Array[]);
    shards[0] = shards[1] = shards[4] = undefined;
    assert.equal(rs.reconstructData(shards), false);
  });
});

describe('kcp-go crypt', () => {
  it('derives the rpcx key with pbkdf2-sha1 (4096 rounds, 32 bytes)', () => {
    assert.equal(hex(deriveKcpKey('rpcx-key')), '5f9d2ef0a6ed0eadb0a23ad75c5e93898821ebca13a778efa8586fc8002ad083');
  });

  it('encrypts exactly as kcp-go NewAESBlockCrypt (CFB, fixed IV, partial last block)', () => {
    const key = deriveKcpKey('rpcx-key');
    const src = Uint8Array.from({ length: 53 }, (_, i) => (i * 3) & 255);
    // Printed by kcp-go's aesBlockCrypt.Encrypt for the same key and input.
    assert.equal(
      hex(new AesBlockCrypt(key).encrypt(src)),
      '714c62a368c3894037ef913b9e5c693f0d8842fb35ecd6ef90bcb3bcb571a006505857f52f1cee96df8a83568e231771561d19a2ea',
    );
    assert.equal(
      hex(new AesBlockCrypt(key.subarray(0, 16)).encrypt(src)),
      '3b52775ae205e10dd42b863ed6a1c6467fa776034ddf8e30fa56c445e78a69722f09f8cb72fa239f876c24ce30b0762d910e5d3495',
    );
    const aes = new AesBlockCrypt(key);
    assert.deepEqual(new Uint8Array(aes.decrypt(aes.encrypt(src))), src);
  });

  it('seals with one running CFB cipher whose datagrams decrypt from the fixed IV, nonce block aside', () => {
    const key = deriveKcpKey('rpcx-key');
    const sender = new AesBlockCrypt(key);
    const receiver = new AesBlockCrypt(key);
    const random = prng(5);
    const firstBlocks = new Set<string>();
    // Lengths on and off the 16-byte block boundary, one after another through the same cipher.
    for (const length of [16, 17, 53, 1, 32, 1400, 1399, 33, 15, 1500, 48, 20]) {
      for (const size of [length + 16, length + 16]) {
        const src = Uint8Array.from({ length: size }, () => Math.floor(random() * 256));
        const sealed = sender.encryptNonced(src);
        assert.equal(sealed.length, size);
        const opened = receiver.decrypt(sealed);
        assert.equal(hex(opened.subarray(16)), hex(src.subarray(16)), `length ${size}`);
        firstBlocks.add(hex(sealed.subarray(0, 16)));
      }
    }
    assert.equal(firstBlocks.size, 24, 'every datagram starts with a different first block');
    // The first datagram from a fresh cipher is exactly kcp-go's encryption.
    const src = Uint8Array.from({ length: 53 }, (_, i) => (i * 3) & 255);
    assert.equal(hex(new AesBlockCrypt(key).encryptNonced(src)), hex(new AesBlockCrypt(key).encrypt(src)));
  });

  it('seals with nonce + crc32 and rejects tampered datagrams', () => {
    for (const block of [new AesBlockCrypt(deriveKcpKey('secret')), new NoneBlockCrypt()]) {
      const crypt = new PacketCrypt(block);
      const packet = new Uint8Array(CRYPT_HEADER_SIZE + 100);
      for (let i = CRYPT_HEADER_SIZE; i < packet.length; i++) packet[i] = i;
      const body = packet.slice(CRYPT_HEADER_SIZE);
      const sealed = crypt.seal(packet);
      const sealed2 = crypt.seal(packet);
      assert.notDeepEqual(sealed.subarray(0, 16), sealed2.subarray(0, 16), 'fresh nonce per datagram');
      assert.deepEqual(new Uint8Array(crypt.open(sealed)!), body);
      const tampered = Buffer.from(sealed);
      tampered[50] = tampered[50]! ^ 1;
      assert.equal(crypt.open(tampered), undefined);
      assert.equal(crypt.open(sealed.subarray(0, 10)), undefined);
    }
    const wrongKey = new PacketCrypt(new AesBlockCrypt(deriveKcpKey('other')));
    const sealed = new PacketCrypt(new AesBlockCrypt(deriveKcpKey('secret'))).seal(new Uint8Array(60));
    assert.equal(wrongKey.open(sealed), undefined);
  });
});

describe('kcp-go FEC', () => {
  /** Builds data datagrams the way the pipeline does: header space reserved, KCP-ish payload after it. */
  function datagram(offset: number, payload: Uint8Array): Uint8Array {
    const p = new Uint8Array(offset + FEC_HEADER_SIZE_PLUS2 + payload.length);
    p.set(payload, offset + FEC_HEADER_SIZE_PLUS2);
    return p;
  }

  it('stamps headers and emits parity after every dataShards datagrams', () => {
    const enc = new FecEncoder(3, 2, 0);
    const outs: Uint8Array[] = [];
    let parity: Uint8Array[] | undefined;
    for (let i = 0; i < 3; i++) {
      const p = datagram(0, new Uint8Array(10 + i * 5).fill(i + 1));
      parity = enc.encode(p, p.length);
      outs.push(p);
      if (i < 2) assert.equal(parity, undefined);
    }
    assert.deepEqual(
      outs.map((p) => [readU32(p, 0), readU16(p, 4), readU16(p, 6)]),
      [
        [0, TYPE_DATA, 12],
        [1, TYPE_DATA, 17],
        [2, TYPE_DATA, 22],
      ],
    );
    assert.equal(parity!.length, 2);
    assert.deepEqual(
      parity!.map((p) => [readU32(p, 0), readU16(p, 4), p.length]),
      [
        [3, TYPE_PARITY, 28],
        [4, TYPE_PARITY, 28],
      ],
    );
    // Parity equals Reed-Solomon over the size-prefixed payloads, zero padded to the longest.
    const shards = outs.map((p) => {
      const s = new Uint8Array(22);
      s.set(p.subarray(6), 0);
      return s;
    });
    const all = [...shards, new Uint8Array(22), new Uint8Array(22)];
    new ReedSolomon(3, 2).encode(all);
    assert.deepEqual(hex(parity![0]!.subarray(6)), hex(all[3]!));
    assert.deepEqual(hex(parity![1]!.subarray(6)), hex(all[4]!));
  });

  it('recovers lost data datagrams from parity, across many groups, with reordering', () => {
    const random = prng(23);
    const enc = new FecEncoder(10, 3, 0);
    const dec = new FecDecoder(10, 3);
    const sent: Uint8Array[] = [];
    const payloads: Uint8Array[] = [];
    for (let i = 0; i < 500; i++) {
      const payload = Uint8Array.from({ length: 24 + Math.floor(random() * 1300) }, () => Math.floor(random() * 256));
      payloads.push(payload);
      const p = datagram(0, payload);
      const parity = enc.encode(p, p.length);
      sent.push(p.slice());
      if (parity) for (const q of parity) sent.push(q.slice());
    }
    // Lose up to 3 datagrams of each 13-datagram group, then shuffle neighbours.
    const arriving: Uint8Array[] = [];
    for (let g = 0; g < sent.length; g += 13) {
      const group = sent.slice(g, g + 13);
      const lose = new Set<number>();
      const count = Math.floor(random() * 4);
      while (lose.size < count) lose.add(Math.floor(random() * group.length));
      group.forEach((p, i) => lose.has(i) || arriving.push(p));
    }
    for (let i = 0; i + 1 < arriving.length; i += 2) if (random() < 0.3) [arriving[i], arriving[i + 1]] = [arriving[i + 1]!, arriving[i]!];

    const received = new Map<string, number>();
    const note = (body: Uint8Array): void => {
      const key = hex(body);
      received.set(key, (received.get(key) ?? 0) + 1);
    };
    for (const p of arriving) {
      const recovered = dec.decode(p);
      if (readU16(p, 4) === TYPE_DATA) note(p.subarray(FEC_HEADER_SIZE_PLUS2));
      for (const r of recovered ?? []) note(r.subarray(2, readU16(r, 0)));
    }
    for (const payload of payloads) assert.ok(received.has(hex(payload)), 'every payload arrived or was recovered');
    assert.ok(dec.stats.recovered > 50, `recovered ${dec.stats.recovered}`);
    assert.equal(dec.stats.errors, 0);
    assert.ok(dec.pending <= 39, 'the reorder window stays bounded');
  });

  it('carries KCP through crypt + FEC and recovers a lost datagram', () => {
    const key = deriveKcpKey('rpcx-key');
    const wire: Uint8Array[] = [];
    const tx = new PacketPipeline(new AesBlockCrypt(key), 10, 3, (d) => wire.push(d));
    const rx = new PacketPipeline(new AesBlockCrypt(key), 10, 3, () => {});
    const clock = (): number => 0;
    const a = new Kcp(7, tx.output, clock);
    const b = new Kcp(7, rx.output, clock);
    for (const k of [a, b]) {
      k.reserveBytes(tx.headerSize);
      k.setNoDelay(1, 10, 2, 1);
      k.setWndSize(256, 256);
    }
    assert.equal(tx.headerSize, 28);
    const message = Uint8Array.from({ length: 10 * a.mss }, (_, i) => i & 255);
    a.send(message);
    a.flush();
    a.flush();
    assert.equal(wire.length, 13, '10 data + 3 parity datagrams');
    wire.splice(4, 1); // lose one data datagram
    for (const d of wire) rx.input(b, rx.crypt!.open(d)!);
    assert.equal(rx.stats.fecRecovered, 1);
    assert.equal(rx.fecDecoder!.stats.recovered, 1);
    assert.deepEqual(b.recv(), message);
  });

  it('seals a batched flush with one cipher call into the same datagrams as sealing each alone', () => {
    const key = deriveKcpKey('rpcx-key');
    for (const block of [() => new AesBlockCrypt(key), () => new NoneBlockCrypt(), () => undefined]) {
      const wires: Uint8Array[][] = [[], []];
      const plains: string[][] = [[], []];
      for (const batched of [false, true]) {
        const wire = wires[Number(batched)]!;
        const tx = new PacketPipeline(block(), 10, 3, (d) => wire.push(d));
        const rx = new PacketPipeline(block(), 10, 3, () => {});
        const a = new Kcp(7, tx.output, () => 0);
        const b = new Kcp(7, rx.output, () => 0);
        for (const k of [a, b]) {
          k.reserveBytes(tx.headerSize);
          k.setNoDelay(1, 10, 2, 1);
          k.setWndSize(256, 256);
        }
        // Segments of several sizes (none a multiple of 16 bytes on the wire) and parity in between.
        const message = Uint8Array.from({ length: 12 * a.mss + 123 }, (_, i) => (i * 7) & 255);
        a.send(message);
        if (batched) tx.beginBatch();
        a.flush();
        if (batched) {
          assert.equal(wire.length, 0, 'nothing leaves before the batch ends');
          tx.endBatch();
        }
        assert.equal(wire.length, 13 + 3, '13 data + 3 parity datagrams');
        if (batched && tx.crypt) {
          assert.ok(wire.every((d) => d.buffer === wire[0]!.buffer), 'one output buffer for the whole flush');
        }
        wire.splice(3, 1); // lose one data datagram: parity sealed in the batch rebuilds it
        for (const d of wire) {
          const body = openDatagram(rx.crypt, d)!;
          assert.ok(body, 'every datagram opens');
          plains[Number(batched)]!.push(hex(body));
          rx.input(b, body);
        }
        assert.equal(rx.stats.fecRecovered, 1);
        assert.deepEqual(b.recv(), message);
      }
      assert.deepEqual(plains[1], plains[0], `${block()?.name ?? 'no crypt'}: same plaintext datagrams batched or not`);
      assert.deepEqual(wires[1]!.map((d) => d.length), wires[0]!.map((d) => d.length));
    }
  });
});
