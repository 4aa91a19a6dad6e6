// Tests of MD5 and the weighted ketama ring (src/memcache/md5.ts, ketama.ts) against RFC 1321
// vectors and libmemcached's own ketama compatibility vectors (test/fixtures/ketama.hpp).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ketamaHash, KetamaRing } from "../../src/memcache/ketama.ts";
import { md5 } from "../../src/memcache/md5.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

test("md5: RFC 1321 test suite", () => {
  const vectors: [string, string][] = [
    ["", "d41d8cd98f00b204e9800998ecf8427e"],
    ["a", "0cc175b9c0f1b6a831c399e269772661"],
    ["abc", "900150983cd24fb0d6963f7d28e17f72"],
    ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
    ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
    [
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
      "d174ab98d277d9f5a5611c2c9f419d9f",
    ],
    ["1234567890".repeat(8), "57edf4a22be3c955ac49da2e2107b67a"],
  ];
  for (const [input, digest] of vectors) assert.equal(hex(md5(enc(input))), digest, input);
  // Lengths around the 56-byte padding boundary and a multi-block input.
  assert.equal(hex(md5(enc("a".repeat(55)))), "ef1772b6dff9a122358552954ad0df65");
  assert.equal(hex(md5(enc("a".repeat(56)))), "3b0c8ac703f828b04c6c197006d17218");
  assert.equal(hex(md5(enc("a".repeat(1000)))), "cabe45dcc9ae5b66ba86600cca6b8ba8");
});

// libmemcached's pool for its ketama compatibility tests.
const SERVERS = [600, 300, 200, 350, 1000, 800, 950, 100].map((weight, i) => ({
  host: `10.0.1.${i + 1}`,
  port: 11211,
  weight,
}));

// [key, key hash, continuum point, libmemcached server, spymemcached server] (last octets),
// from libmemcached test/fixtures/ketama.hpp (ketama_test_cases, ketama_test_cases_spy).
const CASES: [string, number, number, number, number][] = [
  ["SVa_]_V41)", 443691461, 445379617, 7, 2],
  ["*/Z;?V(.\\8", 1422915503, 1428303028, 1, 4],
  ["30C1*Z*S/_", 1473165754, 1480075959, 2, 2],
  ["ERR:EC58G>", 2148406511, 2168579133, 7, 7],
  ["1I=cTMNTKF", 2882686667, 2885206587, 5, 4],
  ["]VG<`I*Z8)", 1103544263, 1104827657, 5, 5],
  ["UUTC`-V159", 3716288206, 3727224240, 5, 7],
  ["@7RU6C6T+Z", 3862737685, 3871917949, 5, 6],
  ["/XLN0@+36;", 1623269830, 1627683651, 1, 7],
  ["4(`X;\\V.^c", 373546328, 383925769, 1, 6],
  ["726bW=9*a4", 4213440020, 4213950705, 7, 3],
  ["\\`)<B)UE,c", 951096736, 955226069, 1, 8],
  ["P1[Ma3=K1/", 1989324036, 1994028240, 8, 1],
  ["C89I.-V?cT", 1604239957, 1606398093, 8, 5],
  ["D[HE+cFXDK", 2117036136, 2117124014, 3, 5],
  ["P1L?NAB[)K", 2129972569, 2132542634, 1, 7],
  ["cDT0)Z5P6,", 176485284, 178675413, 5, 1],
  ["@JW`+[WAO8", 2720940826, 2743975456, 5, 2],
  ["\\39DKW^)N_", 3548879868, 3550704865, 3, 6],
  ["EM75N0+[X1", 1558531507, 1559308507, 4, 5],
  ["`,SS]NBP,b", 1883545960, 1884847278, 1, 1],
  ["XX1a9LT+F?", 653487707, 656410408, 5, 6],
  ["Zc\\-,F-c6V", 1160802451, 1171575728, 5, 6],
  ["1*RTMC7,03", 1602398012, 1606398093, 8, 5],
  ["*Xc+V0P>32", 536016577, 539988520, 7, 7],
  ["U))Fb-(`,.", 4128682289, 4136854163, 7, 7],
  ["R-08RNTaRT", 3718170086, 3727224240, 5, 5],
  ["(LHcO203I3", 1007779411, 1014643570, 5, 1],
  ["=256P+;Qc8", 3976201210, 3976304873, 5, 3],
  ["OI5XZ_BBT(", 2155922164, 2168579133, 7, 5],
  ["2TLRL/UL;:", 1086800909, 1095659802, 7, 2],
  ["WHD\\O1`ZRW", 3087923411, 3095471560, 5, 1],
  [".=54)_c;=T", 2497691631, 2502731301, 1, 6],
  [";G<W-XWZ@b", 2888169733, 2888728739, 5, 7],
  ["(,>E`)FT\\4", 580747448, 581063326, 2, 5],
  ["HZAU*;P*N]", 2564670474, 2565697267, 7, 1],
  ["NZ@ZE=O84_", 533335275, 539988520, 7, 7],
  ["6,cEI`F_P>", 3972869246, 3974773167, 6, 3],
  ["c,5AQ/T5)6", 2835605783, 2847870057, 8, 7],
  [".O,>>BT)RX", 3857978174, 3871917949, 5, 7],
  ["XY\\X::LX50", 1749241099, 1752196488, 6, 7],
  ["+550F^/.01", 3781824099, 3783248219, 6, 2],
  ["<.X9E2S5+9", 3232479481, 3234387706, 7, 7],
  ["]\\.UH8_0a1", 2419699252, 2423002920, 4, 6],
  ["8(6=(T0/Z0", 728266737, 729026070, 7, 6],
  ["8*6a;Sc*X+", 4223431086, 4230156966, 2, 5],
  ["<QW:;3K6;H", 2731158143, 2743975456, 5, 7],
  ["7C@EY@-Y?_", 760770733, 761576669, 5, 5],
  ["aPb3E1WD4K", 2500489218, 2502731301, 1, 2],
  ["?@12R<=1BH", 1494795329, 1502505505, 8, 1],
  ["QR(a+Q=1FU", 3238535074, 3238996435, 6, 5],
  ["`C9^FV,960", 2628553463, 2628733766, 6, 3],
  ["UNHVP..^8H", 977096483, 977319837, 4, 6],
  [":Y.2W2[(35", 2777083668, 2784182515, 7, 6],
  ["M/HV^_HZ4O", 3623390946, 3624445007, 7, 4],
  ["ZY16KQ<ICD", 1831153193, 1838563516, 4, 7],
  ["bV2,`a.PY9", 1962228869, 1962648654, 1, 7],
  ["U;9:-+5N]9", 269504649, 277560877, 1, 2],
  ["1S/:aJ[1(;", 578069729, 581063326, 2, 5],
  ["Nb-X^]M)I:", 330865696, 331009896, 6, 3],
  ["2;M;ES>J5/", 2776949824, 2784182515, 7, 6],
  ["[>RZHG97Q9", 71954686, 72034069, 6, 4],
  ["J3/G[)9<^Z", 2799896459, 2805183696, 7, 6],
  ["N-)88>[O`,", 50404102, 51792557, 5, 2],
  ["NP:=FR\\OaA", 3837333776, 3837792034, 7, 7],
  ["`@L+W;a,O[", 1512157148, 1522285852, 6, 5],
  ["W2`P:-+1T[", 2945171975, 2946196424, 5, 7],
  ["-6G7K^YDIN", 3168617340, 3170513015, 7, 5],
  ["U>*>9ZI6V5", 668514946, 674097631, 6, 5],
  [".I?^6Ic9RK", 938419020, 942832691, 6, 6],
  ["0OZH^9BKM[", 3682518606, 3686781297, 8, 2],
  ["5?50UGZ:ML", 868610882, 869425986, 5, 6],
  ["?K2NF@3=IU", 381218851, 383925769, 1, 6],
  ["YI@G-2X?UB", 3688706179, 3693197681, 5, 6],
  ["7cY</BSaL=", 3976870223, 3978903843, 6, 7],
  ["A(`KF:[RH8", 3292979676, 3294849139, 6, 6],
  [";=ZT\\W^P+H", 1401102653, 1416290674, 4, 6],
  ["b2?WFF56;R", 480494704, 486971192, 4, 7],
  ["CTR74,J+N.", 137446045, 146633907, 8, 7],
  ["<b;*R+QDST", 1304985302, 1308223778, 5, 5],
  ["\\R^7=9UCG`", 126218373, 129199837, 5, 6],
  ["1bQS5]WOXB", 1853470245, 1855329369, 4, 7],
  ["M(@X^b[L:K", 3019630308, 3022260113, 1, 4],
  ["431cBF8,YO", 1679726993, 1685224295, 7, 1],
  ["(bEIQJ:E./", 2922607787, 2925521819, 6, 7],
  ["WS/3H*)7F;", 419488232, 422140585, 5, 3],
  ["ZJF[Ia6Q)+", 3960568056, 3962489998, 7, 5],
  ["<]*QCK8U,>", 2590140172, 2598117636, 7, 5],
  ["\\[a\\^=V_M0", 689410119, 698690782, 6, 7],
  ["7;RM+8J9YC", 1530175299, 1531107082, 7, 7],
  ["4*=.SPR[AV", 3928582722, 3928853792, 1, 3],
  ["-2F+^88P4U", 3023552752, 3025823613, 7, 7],
  ["X;-F`(N?9D", 570465234, 572485994, 7, 5],
  ["R=F_D-K2a]", 1287750228, 1290935562, 7, 1],
  ["X*+2aaC.EG", 3200948713, 3201088518, 5, 3],
  ["[1ZXONX2]a", 4108881567, 4109865744, 4, 7],
  ["FL;\\GWacaV", 458449508, 467374054, 4, 7],
  ["\\MQ_XNT7L-", 1259349383, 1259509450, 7, 5],
  ["VD6D0]ba_\\", 3842502950, 3842588691, 1, 7],
];

test("ketama: 99 libmemcached vectors (key hash, continuum point, server)", () => {
  assert.equal(CASES.length, 99);
  const ring = new KetamaRing(SERVERS);
  for (const [key, hash, point, server] of CASES) {
    assert.equal(ketamaHash(enc(key)), hash, `hash of ${key}`);
    assert.equal(ring.pointFor(hash), point, `point for ${key}`);
    assert.equal(SERVERS[ring.lookup(enc(key))].host, `10.0.1.${server}`, `server of ${key}`);
  }
});

test("ketama: 99 spymemcached-compatible vectors", () => {
  const ring = new KetamaRing(SERVERS, "spymemcached");
  for (const [key, , , , server] of CASES) {
    assert.equal(SERVERS[ring.lookup(enc(key))].host, `10.0.1.${server}`, `server of ${key}`);
  }
});

test("ketama: a hash past the last point wraps to the first (libmemcached's VDEAAAAA)", () => {
  const ring = new KetamaRing(SERVERS);
  assert.equal(ketamaHash(enc("VDEAAAAA")), 0xfffcd1b5);
  assert.equal(ring.pointFor(0xfffcd1b5), ring.pointFor(0), "wrapped to the first point");
  assert.equal(ring.lookup(enc("VDEAAAAA")), ring.lookupHash(0));
});

test("ketama: weights set the share of points; equal weights give 160 points each", () => {
  assert.equal(new KetamaRing(SERVERS).size, 1264);
  const equal = new KetamaRing([
    { host: "a", port: 1 },
    { host: "b", port: 2 },
    { host: "c", port: 3 },
  ]);
  assert.equal(equal.size, 480);
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) counts[equal.lookup(enc(`key:${i}`))]++;
  for (const c of counts) assert.ok(c > 700 && c < 1300, `balanced: ${counts}`);
});

test("ketama: removing a server only moves that server's keys", () => {
  const three = [{ host: "a", port: 11211 }, { host: "b", port: 11211 }, {
    host: "c",
    port: 11211,
  }];
  const all = new KetamaRing(three);
  const two = new KetamaRing([three[0], three[2]]);
  for (let i = 0; i < 2000; i++) {
    const key = enc(`k${i}`);
    const before = three[all.lookup(key)].host;
    const after = [three[0], three[2]][two.lookup(key)].host;
    if (before !== "b") assert.equal(after, before, `k${i} stayed on ${before}`);
  }
});

test("ketama: bad weights and an empty pool are refused", () => {
  assert.throws(() => new KetamaRing([]), RangeError);
  assert.throws(() => new KetamaRing([{ host: "a", port: 1, weight: 0 }]), RangeError);
  assert.throws(() => new KetamaRing([{ host: "a", port: 1, weight: 1.5 }]), RangeError);
});
