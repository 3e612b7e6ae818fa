// Two gRPC backends standing for checkout-api revisions 57 and 58, and a client that reaches them through
// gRPC's xDS resolver (xds:///...), configured by our ADS server alone. Commands on stdin, one JSON line out per command:
//   env <base64 json>  the bootstrap, as GRPC_XDS_BOOTSTRAP_CONFIG (gRPC reads it when the first xds: channel resolves)
//   connect <target>   make the xDS client channel
//   calls <n>          n sequential unary calls; prints the count per backend that answered (or per error code)
//   stop <name>        stop a backend (v57 or v58)
const grpc = require('@grpc/grpc-js');
const xds = require('@grpc/grpc-js-xds');
const readline = require('readline');

const bytes = (b) => b;
const which = {
  path: '/checkout.Checkout/Which', requestStream: false, responseStream: false,
  requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes,
};

function startBackend(name) {
  const server = new grpc.Server();
  server.addService({ Which: which }, { Which: (call, callback) => callback(null, Buffer.from(name)) });
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => error ? reject(error) : resolve({ server, port })));
}

function call(client) {
  return new Promise((resolve) =>
    client.Which(Buffer.alloc(0), { deadline: Date.now() + 5000 }, (error, reply) => resolve(error ? `error:${grpc.status[error.code]}` : reply.toString())));
}

async function main() {
  const backends = { v57: await startBackend('v57'), v58: await startBackend('v58') };
  xds.register();
  const Checkout = grpc.makeGenericClientConstructor({ Which: which });
  let client;
  console.log(JSON.stringify({ ports: { v57: backends.v57.port, v58: backends.v58.port } }));
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [command, argument] = line.trim().split(/\s+/);
    if (command === 'env') {
      process.env.GRPC_XDS_BOOTSTRAP_CONFIG = Buffer.from(argument, 'base64').toString('utf8');
      console.log(JSON.stringify({ bootstrap: 'set' }));
    } else if (command === 'connect') {
      client = new Checkout(argument, grpc.credentials.createInsecure());
      console.log(JSON.stringify({ connected: argument }));
    } else if (command === 'calls') {
      const counts = {};
      for (let i = 0; i < Number(argument); i++) {
        const answer = await call(client);
        counts[answer] = (counts[answer] || 0) + 1;
      }
      console.log(JSON.stringify({ counts }));
    } else if (command === 'stop') {
      backends[argument].server.forceShutdown();
      console.log(JSON.stringify({ stopped: argument }));
    } else if (command === 'exit') {
      break;
    }
  }
  client?.close();
  for (const backend of Object.values(backends)) backend.server.forceShutdown();
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
