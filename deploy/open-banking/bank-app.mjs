// The bank's API stand-in: answers every request with what the sidecar told it about the caller.
import http from 'node:http';

const port = Number(process.env.PORT ?? 8080);
http
  .createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      `${JSON.stringify({
        path: req.url,
        organization: req.headers['x-tether-org-id'] ?? null,
        psd2Roles: req.headers['x-tether-psd2-roles'] ?? null,
        nca: req.headers['x-tether-nca'] ?? null,
        bearer: req.headers.authorization ? 'present' : 'absent',
      })}\n`,
    );
  })
  .listen(port, '127.0.0.1', () => console.log(`bank app on 127.0.0.1:${port}`));
