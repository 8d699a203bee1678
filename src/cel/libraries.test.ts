import { describe, expect, it } from "vitest";
import { createCelEnvironment } from "./environment.ts";
import { celValueOf, evalCel } from "./test-helpers.ts";

/** [expression, expected value] — each library function with its main cases. */
const VALUE_CASES: [string, unknown][] = [
  // core, equality and conversions (cel-go semantics through @bufbuild/cel)
  ["1 + 2 * 3", 7],
  ["1 == 1.0", true],
  ["1u == 1", true],
  ["[1, 2] + [3]", [1, 2, 3]],
  ["2 in [1, 2]", true],
  ["'a' in {'a': 1}", true],
  ["int('12') + 1", 13],
  ["string(12)", "12"],
  ["duration('1s') < duration('2s')", true],
  ["timestamp('2024-01-01T00:00:00Z').getFullYear()", 2024],
  ["'abc'.matches('^a.c$')", true],
  ["matches('abc', 'b')", true],
  ["[1, 2, 3].exists(v, v > 2)", true],
  ["[1, 2, 3].all(v, v > 0)", true],
  ["[1, 2, 3].exists_one(v, v > 1)", false],
  ["[1, 2, 3].map(v, v * 2)", [2, 4, 6]],
  ["[1, 2, 3].map(v, v > 1, v * 2)", [4, 6]],
  ["[1, 2, 3].filter(v, v % 2 == 1)", [1, 3]],
  ["{'a': 1, 'b': 2}.filter(k, k == 'b')", ["b"]],
  // strings extension v2
  ["'hello'.charAt(1)", "e"],
  ["'hello'.indexOf('l')", 2],
  ["'hello'.lastIndexOf('l')", 3],
  ["'Hello'.lowerAscii()", "hello"],
  ["'Hello'.upperAscii()", "HELLO"],
  ["'a-b-c'.replace('-', '+')", "a+b+c"],
  ["'a-b-c'.split('-')", ["a", "b", "c"]],
  ["'hello'.substring(1, 3)", "el"],
  ["'  x  '.trim()", "x"],
  ["['a', 'b'].join(',')", "a,b"],
  ["'%s has %d items'.format(['list', dyn(3)])", "list has 3 items"],
  ["strings.quote('a\"b')", '"a\\"b"'],
  // two-variable comprehensions (1.32)
  ["{'a': 1, 'b': 2}.all(k, v, v > 0)", true],
  ["[10, 20].exists(i, v, i == 1 && v == 20)", true],
  ["{'a': 1, 'b': 2}.existsOne(k, v, v == 2)", true],
  ["[1, 2, 3].transformList(i, v, i * v)", [0, 2, 6]],
  ["[1, 2, 3].transformList(i, v, v > 1, v)", [2, 3]],
  ["{'a': 1}.transformMap(k, v, v + 1)", { a: 2 }],
  ["{'a': 1}.transformMapEntry(k, v, {k + k: v})", { aa: 1 }],
  // ext sets (1.29)
  ["sets.contains([1, 2, 3], [3, 1])", true],
  ["sets.equivalent([1, 2], [2, 1, 1])", true],
  ["sets.intersects([1], [2])", false],
  // ext lists v3 (1.34)
  ["lists.range(3)", [0, 1, 2]],
  ["[1, 2, 3, 4].slice(1, 3)", [2, 3]],
  ["[[1], [2, 3]].flatten()", [1, 2, 3]],
  ["[1, 2, 2, 1].distinct()", [1, 2]],
  ["[1, 2, 3].reverse()", [3, 2, 1]],
  ["['b', 'a'].sort()", ["a", "b"]],
  ["[{'n': 2}, {'n': 1}].sortBy(e, e.n)", [{ n: 1 }, { n: 2 }]],
  ["[1, 2].first().value()", 1],
  ["[].last().hasValue()", false],
  // Kubernetes regex
  ["'abc 123'.find('[0-9]+')", "123"],
  ["'abc'.find('[0-9]+')", ""],
  ["'a1b22c333'.findAll('[0-9]+')", ["1", "22", "333"]],
  ["'a1b22c333'.findAll('[0-9]+', 2)", ["1", "22"]],
  // Kubernetes lists
  ["[1, 2, 3].isSorted()", true],
  ["['b', 'a'].isSorted()", false],
  ["[1, 2, 3].sum()", 6],
  ["[].sum()", 0],
  ["[0.5, 1.5].sum()", 2],
  ["[3, 1, 2].min()", 1],
  ["[3, 1, 2].max()", 3],
  ["[1, 2, 1].indexOf(1)", 0],
  ["[1, 2, 1].lastIndexOf(1)", 2],
  ["[1, 2].indexOf(5)", -1],
  // URL
  ["url('https://example.com:8080/a/b?x=1&x=2').getScheme()", "https"],
  ["url('https://example.com:8080/a/b').getHost()", "example.com:8080"],
  ["url('https://example.com:8080/a/b').getHostname()", "example.com"],
  ["url('https://[::1]:8080/').getHostname()", "::1"],
  ["url('https://example.com:8080/a/b').getPort()", "8080"],
  ["url('https://example.com/a/b').getEscapedPath()", "/a/b"],
  ["url('/path?x=1&x=2&y=3').getQuery()", { x: ["1", "2"], y: ["3"] }],
  ["isURL('https://example.com')", true],
  ["isURL('not a url')", false],
  // quantity
  ["quantity('1.5Gi').asInteger()", 1610612736],
  ["quantity('100m').isInteger()", false],
  ["quantity('100m').asApproximateFloat()", 0.1],
  ["quantity('1k') == quantity('1000')", true],
  ["quantity('-5').sign()", -1],
  ["quantity('1Mi').add(quantity('1Ki')).asInteger()", 1049600],
  ["quantity('1').add(2).asInteger()", 3],
  ["quantity('1').sub(quantity('500m')).asApproximateFloat()", 0.5],
  ["quantity('2').isGreaterThan(quantity('1500m'))", true],
  ["quantity('2').isLessThan(quantity('1500m'))", false],
  ["quantity('1e3').compareTo(quantity('1k'))", 0],
  ["isQuantity('1.5Gi')", true],
  ["isQuantity('1.5GB')", false],
  // IP and CIDR
  ["ip('10.0.0.1').family()", 4],
  ["ip('::1').family()", 6],
  ["ip('::1').isLoopback()", true],
  ["ip('127.0.0.1').isLoopback()", true],
  ["ip('0.0.0.0').isUnspecified()", true],
  ["ip('169.254.1.1').isLinkLocalUnicast()", true],
  ["ip('fe80::1').isLinkLocalUnicast()", true],
  ["ip('224.0.0.1').isLinkLocalMulticast()", true],
  ["ip('8.8.8.8').isGlobalUnicast()", true],
  ["string(ip('2001:db8:0:0:0:0:0:1'))", "2001:db8::1"],
  ["ip('10.0.0.1') == ip('10.0.0.1')", true],
  ["ip.isCanonical('2001:db8::1')", true],
  ["ip.isCanonical('2001:DB8::1')", false],
  ["isIP('01.1.1.1')", false],
  ["isIP('::ffff:1.2.3.4')", false],
  ["cidr('10.0.0.0/8').containsIP('10.1.2.3')", true],
  ["cidr('10.0.0.0/8').containsIP(ip('11.0.0.1'))", false],
  ["cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')", true],
  ["cidr('10.0.0.0/16').containsCIDR(cidr('10.0.0.0/8'))", false],
  ["string(cidr('10.1.2.3/8').masked())", "10.0.0.0/8"],
  ["string(cidr('10.1.2.3/8').ip())", "10.1.2.3"],
  ["cidr('2001:db8::/32').prefixLength()", 32],
  ["isCIDR('10.0.0.0/33')", false],
  // semver
  ["semver('1.2.3').major()", 1],
  ["semver('1.2.3').minor()", 2],
  ["semver('1.2.3').patch()", 3],
  ["semver('1.2.3-alpha').isLessThan(semver('1.2.3'))", true],
  ["semver('1.10.0').isGreaterThan(semver('1.9.0'))", true],
  ["semver('1.0.0').compareTo(semver('1.0.0'))", 0],
  ["isSemver('v1.2')", false],
  ["isSemver('v1.2', true)", true],
  ["semver('v01.2', true).major()", 1],
  // format
  ["format.dns1123Label().validate('my-name').hasValue()", false],
  ["format.dns1123Label().validate('Bad_Name').hasValue()", true],
  ["format.dns1123Subdomain().validate('a.b.c').hasValue()", false],
  ["format.dns1035Label().validate('1abc').hasValue()", true],
  ["format.qualifiedName().validate('example.com/Name').hasValue()", false],
  ["format.labelValue().validate('').hasValue()", false],
  ["format.dns1123LabelPrefix().validate('gen-').hasValue()", false],
  ["format.uuid().validate('123e4567-e89b-12d3-a456-426614174000').hasValue()", false],
  ["format.date().validate('2024-02-30').hasValue()", true],
  ["format.datetime().validate('2024-02-03T04:05:06Z').hasValue()", false],
  ["format.byte().validate('aGVsbG8=').hasValue()", false],
  ["format.uri().validate('https://x').hasValue()", false],
  ["format.named('dns1123Label').hasValue()", true],
  ["format.named('nope').hasValue()", false],
  // optional library
  ["optional.of(1).value()", 1],
  ["optional.none().hasValue()", false],
  ["optional.ofNonZeroValue('').hasValue()", false],
  ["optional.ofNonZeroValue([1]).hasValue()", true],
  ["optional.none().orValue(5)", 5],
  ["optional.none().or(optional.of(2)).value()", 2],
  ["optional.of(2).optMap(v, v * 3).value()", 6],
  ["optional.of(2).optFlatMap(v, optional.none()).hasValue()", false],
  ["optional.of(1) == optional.of(1)", true],
  ["optional.none() == optional.none()", true],
];

describe("CEL libraries", () => {
  it.each(VALUE_CASES)("%s", (expr, expected) => {
    expect(celValueOf(expr)).toEqual(expected);
  });

  it.each([
    ["[].min()", "min called on empty list"],
    ["object.max()", "no such overload"],
    ["quantity('1.5x')", "quantities must match"],
    ["quantity('100m').asInteger()", "cannot convert value to integer"],
    ["url('nope')", "invalid URI for request"],
    ["ip('1.2.3')", "invalid IP address"],
    ["ip('::ffff:1.2.3.4')", "IPv4-mapped IPv6 address"],
    ["cidr('10.0.0.0')", "no '/'"],
    ["semver('1.2')", "invalid semver"],
    ["optional.none().value()", "optional.none() dereference"],
    ["'a'.find(x)", "invalid regex"],
    ["[1, 2].slice(2, 1)", "start index must be less than or equal to end index"],
    ["1 / 0", "divide by zero"],
    ["9223372036854775807 + 1", "overflow"],
    ["{'a': 1}.b", "no such key: b"],
    ["[1][3]", "index out of range"],
    [
      "{'a': 1}.transformMapEntry(k, v, {'x': 1, 'y': 2}).size() > 0 && {'a': 1, 'b': 1}.transformMapEntry(k, v, {'x': v}) == {}",
      "already exists",
    ],
  ])("%s → runtime error containing %j", (expr, message) => {
    const r = evalCel(expr, { x: "(", object: [1, "a"] });
    expect(r.kind).toBe("error");
    if (r.kind === "error") {
      expect(r.code).toBe("runtime");
      expect(r.message).toContain(message);
    }
  });

  it("error absorption: && and || are commutative over errors", () => {
    expect(celValueOf("{'a': 1}.b == 1 || true")).toBe(true);
    expect(celValueOf("false && {'a': 1}.b == 1")).toBe(false);
    expect(evalCel("{'a': 1}.b == 1 || false").kind).toBe("error");
  });

  it("format validate returns apimachinery's messages", () => {
    expect(celValueOf("format.dns1123Label().validate('Bad_Name').value()")).toEqual([
      expect.stringContaining(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters",
      ),
    ]);
  });
});

describe("functions kube-apiserver does not offer", () => {
  it("rejects cel.bind, as v1.37 does", () => {
    const env = createCelEnvironment({ variables: {} });
    const result = env.compile("cel.bind(v, 3, v * v) == 9");
    expect(result.ok).toBe(false);
  });
});

describe("homogeneous aggregate literals, as kube-apiserver checks them", () => {
  const env = createCelEnvironment({ variables: { object: "dyn" } });
  it.each([
    ["[object.metadata.name, 'x']", "expected type 'dyn' but found 'string'"],
    ["{'a': object.metadata.name, 'b': 'x'}", "expected type 'dyn' but found 'string'"],
    ["['x', object.spec.containers[0].name]", "expected type 'string' but found 'dyn'"],
  ])("rejects %s", (expression, message) => {
    const result = env.compile(expression);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error[0]?.message).toContain(message);
  });
  it.each([
    "[object.metadata.name, object.metadata.namespace]",
    "[string(object.metadata.name), 'x']",
    "['a'.split('/')[0], 'b']",
  ])("accepts %s", (expression) => {
    expect(env.compile(expression).ok).toBe(true);
  });
});
