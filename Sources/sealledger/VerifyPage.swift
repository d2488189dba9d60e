/// The verification page's HTML, script and style, compiled into `sealledger` (no CDN, no build
/// step): served at `/verify`, `/verify/verify.js` and `/verify/verify.css` (docs/verify-page.md).
///
/// The script hashes the document with WebCrypto (`crypto.subtle.digest('SHA-256', …)`, available
/// in a secure context only: HTTPS, or http on loopback) and sends the digest, never the document.
enum VerifyPage {
    static let html = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Verify a stamp — SealKit ledger</title>
        <link rel="stylesheet" href="/verify/verify.css">
        <script src="/verify/verify.js" defer></script>
        </head>
        <body>
        <main>
        <h1>Verify a stamp</h1>
        <p class="lead">Drop the stamped document with its record file (the JSON <code>sealctl stamp</code> writes), or an image
        of the imprint's QR code. The document is hashed in this browser and never leaves it: only its SHA-256 digest is sent.</p>
        <form id="verify-form">
        <fieldset>
        <legend>Document</legend>
        <label class="drop" id="document-drop">Drop the document here, or <input type="file" id="document-input" name="document"></label>
        <p class="digest" id="document-digest"></p>
        </fieldset>
        <fieldset>
        <legend>Record or QR code</legend>
        <label class="drop" id="record-drop">Drop the record file (JSON) here, or <input type="file" id="record-input" name="record" accept=".json,application/json"></label>
        <label class="drop" id="qr-drop">…or an image of the QR code: <input type="file" id="qr-input" name="qr" accept="image/*"></label>
        </fieldset>
        <button type="submit" id="verify-button">Verify</button>
        </form>
        <section id="result" hidden>
        <div id="verdict" class="verdict" role="status" aria-live="polite"></div>
        <p id="summary"></p>
        <p id="report-link-line" hidden><a id="report-link" href="#">Open the traceability report</a></p>
        <table id="checks"><thead><tr><th>Check</th><th>Outcome</th><th>Detail</th></tr></thead><tbody></tbody></table>
        <p id="alert-note" class="note"></p>
        </section>
        </main>
        </body>
        </html>
        """

    static let style = """
        body { font-family: system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1b1f24; }
        main { max-width: 56rem; margin: 2rem auto; padding: 0 1rem; }
        h1 { font-size: 1.6rem; }
        .lead { color: #444; }
        fieldset { border: 1px solid #ccd; border-radius: 6px; margin: 0 0 1rem; background: #fff; }
        .drop { display: block; border: 2px dashed #9aa; border-radius: 6px; padding: 1rem; margin: .5rem 0; }
        .drop.over { border-color: #1565c0; background: #e3f2fd; }
        .digest { font-family: monospace; font-size: .85rem; word-break: break-all; color: #555; }
        button { font-size: 1rem; padding: .5rem 1.5rem; }
        .verdict { font-size: 1.5rem; font-weight: bold; padding: 1rem; border-radius: 6px; margin-top: 1rem; }
        .verdict.valid { background: #e8f5e9; color: #1b5e20; border: 2px solid #2e7d32; }
        .verdict.invalid { background: #ffebee; color: #b71c1c; border: 2px solid #c62828; }
        .verdict.revoked { background: #fff3e0; color: #e65100; border: 2px solid #ef6c00; }
        .verdict.error { background: #eceff1; color: #37474f; border: 2px solid #607d8b; }
        table { border-collapse: collapse; width: 100%; background: #fff; margin-top: 1rem; font-size: .9rem; }
        th, td { border: 1px solid #dde; padding: .3rem .5rem; text-align: left; vertical-align: top; }
        td:first-child { white-space: nowrap; } td:last-child, #summary { word-break: break-all; }
        td.passed { color: #1b5e20; } td.failed { color: #b71c1c; font-weight: bold; } td.skipped { color: #777; }
        .note { color: #555; font-size: .9rem; }
        """

    static let script = #"""
        'use strict';
        // The verification page (docs/verify-page.md). The document is read and hashed here, with
        // WebCrypto; only its SHA-256 digest goes to the ledger.
        (function () {
          const $ = (id) => document.getElementById(id);
          const hex = (buffer) => Array.from(new Uint8Array(buffer)).map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();

          async function digestOf(file) {
            if (!window.isSecureContext || !crypto.subtle) {
              throw new Error('this page needs a secure context (HTTPS, or http on loopback) to hash the document with WebCrypto');
            }
            return hex(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
          }

          // zbar on the server reads PNG; any other image the browser can decode is redrawn as PNG first.
          async function asPNG(file) {
            if (file.type === 'image/png') return file;
            const bitmap = await createImageBitmap(file);
            const canvas = document.createElement('canvas');
            canvas.width = bitmap.width; canvas.height = bitmap.height;
            canvas.getContext('2d').drawImage(bitmap, 0, 0);
            return await new Promise((resolve, reject) => canvas.toBlob((blob) => blob ? resolve(blob) : reject(new Error('cannot convert the image to PNG')), 'image/png'));
          }

          async function postJSON(path, body) {
            const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
            let answer = null;
            try { answer = await response.json(); } catch (e) { answer = null; }
            return { status: response.status, answer };
          }

          function show(kind, title, summary) {
            $('result').hidden = false;
            const verdict = $('verdict');
            verdict.className = 'verdict ' + kind;
            verdict.dataset.status = kind;
            verdict.textContent = title;
            $('summary').textContent = summary || '';
          }

          function showChecks(checks) {
            const body = $('checks').querySelector('tbody');
            body.replaceChildren();
            for (const check of checks || []) {
              const row = document.createElement('tr');
              row.dataset.check = check.name;
              for (const [text, cls] of [[check.name, ''], [check.outcome || (check.passed ? 'passed' : 'failed'), check.outcome || ''], [check.detail, '']]) {
                const cell = document.createElement('td');
                cell.textContent = text;
                if (cls) cell.className = cls;
                row.appendChild(cell);
              }
              body.appendChild(row);
            }
          }

          async function reportFailure(record, answer, documentDigest) {
            // alerts: POST /v1/verification-reports (a 404 before that route exists is ignored).
            const failed = (answer.checks || []).find((c) => c.name === answer.failedCheck) || {};
            const body = { record, failedCheck: answer.failedCheck || 'unknown', detail: failed.detail || '' };
            if (documentDigest) body.documentDigest = documentDigest;
            try {
              const { status, answer: alert } = await postJSON('/v1/verification-reports', body);
              $('alert-note').textContent = status === 202 && alert ? 'The ledger was alerted (alert ' + alert.alertID + ').' : '';
            } catch (e) { /* best effort */ }
          }

          async function verify(event) {
            event.preventDefault();
            $('alert-note').textContent = '';
            const documentFile = $('document-input').files[0];
            const recordFile = $('record-input').files[0];
            const qrFile = $('qr-input').files[0];
            try {
              if (!recordFile && !qrFile) throw new Error('give a record file or an image of the QR code');
              if (recordFile && !documentFile) throw new Error('a record is verified against its document: give the document too');
              show('error', 'Verifying…', '');
              let documentDigest = null;
              if (documentFile) {
                documentDigest = await digestOf(documentFile);
                $('document-digest').textContent = 'SHA-256 ' + documentDigest;
              }
              let request, record = null;
              if (recordFile) {
                try { record = JSON.parse(await recordFile.text()); } catch (e) { throw new Error('the record file is not JSON'); }
                request = { record, documentDigest };
              } else {
                const decoded = await fetch('/v1/qr-decode', { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: await asPNG(qrFile) });
                const qr = await decoded.json().catch(() => ({}));
                if (decoded.status !== 200) throw new Error((qr.error && qr.error.message) || 'the image holds no readable QR code');
                request = { payload: qr.payload };
                if (documentDigest) request.documentDigest = documentDigest;
              }
              await submit(request, record, documentDigest);
            } catch (error) {
              showChecks([]);
              $('report-link-line').hidden = true;
              show('error', 'Could not verify', error.message);
            }
          }

          // Sends a verification request and shows the answer.
          async function submit(request, record, documentDigest) {
              const { status, answer } = await postJSON('/v1/verify', request);
              if (status !== 200 || !answer) throw new Error((answer && answer.error && answer.error.message) || ('the ledger answered ' + status));
              showChecks(answer.checks);
              const failed = (answer.checks || []).find((c) => c.name === answer.failedCheck);
              if (answer.status === 'valid') {
                show('valid', 'VALID', 'Every check passed' + (answer.entryIndex !== null ? '; ledger entry ' + answer.entryIndex + '.' : '.'));
              } else if (answer.status === 'revoked') {
                show('revoked', 'REVOKED', failed ? failed.detail : 'the seal was suspended or terminated');
              } else {
                show('invalid', 'INVALID — failed check: ' + answer.failedCheck, failed ? failed.detail : '');
                if (record) reportFailure(record, answer, documentDigest);
              }
              if (answer.reportURL) {
                $('report-link').href = answer.reportURL;
                $('report-link-line').hidden = false;
              } else {
                $('report-link-line').hidden = true;
              }
          }

          // A phone that scanned an imprint's QR code opens the ledger's URL with the payload in the
          // fragment (docs/imprint.md); the ledger's root redirects here and the fragment follows
          // (RFC 9110 §10.2.2). The fragment never reached the server: the script sends it, with
          // this page's origin as the ledger URL, to be verified like a decoded QR image.
          async function verifyFragment() {
            if (!location.hash.startsWith('#st=')) return;
            try {
              show('error', 'Verifying…', '');
              await submit({ payload: location.origin + location.hash }, null, null);
            } catch (error) {
              showChecks([]);
              $('report-link-line').hidden = true;
              show('error', 'Could not verify', error.message);
            }
          }

          function dropTarget(zone, input) {
            zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
            zone.addEventListener('dragleave', () => zone.classList.remove('over'));
            zone.addEventListener('drop', (e) => {
              e.preventDefault();
              zone.classList.remove('over');
              if (e.dataTransfer.files.length) input.files = e.dataTransfer.files;
            });
          }

          document.addEventListener('DOMContentLoaded', () => {
            dropTarget($('document-drop'), $('document-input'));
            dropTarget($('record-drop'), $('record-input'));
            dropTarget($('qr-drop'), $('qr-input'));
            $('verify-form').addEventListener('submit', verify);
            verifyFragment();
          });
        })();
        """#
}
