// Reads {"values": [[...], ...], "encoding": [...], "checks": [{"root", "value", "proof"}]} on stdin;
// prints OpenZeppelin's StandardMerkleTree root for the values and its verdict on each proof.
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const tree = StandardMerkleTree.of(input.values, input.encoding);
const verdicts = input.checks.map((c) => StandardMerkleTree.verify(c.root, input.encoding, c.value, c.proof));
process.stdout.write(JSON.stringify({ root: tree.root, verdicts }));
