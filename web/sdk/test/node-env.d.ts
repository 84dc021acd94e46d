// Types of the few Node built-ins the tests use (files for the vectors, a
// loopback HTTP server for failure cases, environment variables). The SDK
// itself is browser code and the workspace has no @types/node, so only
// what the tests call is declared here, with Node's real signatures.

declare module 'node:fs' {
  export function existsSync(path: string): boolean;
  export function readFileSync(path: string): Uint8Array;
  export function readFileSync(path: string, encoding: 'utf8'): string;
  export function writeFileSync(path: string, data: string): void;
  export function mkdirSync(path: string, options?: { recursive?: boolean }): string | undefined;
}

declare module 'node:path' {
  export function dirname(path: string): string;
}

declare module 'node:url' {
  export function fileURLToPath(url: string | URL): string;
}

declare module 'node:http' {
  export interface IncomingMessage extends AsyncIterable<Uint8Array> {
    url?: string;
    method?: string;
    resume(): this;
    on(event: 'end', listener: () => void): this;
  }
  export interface ServerResponse {
    writeHead(status: number, headers?: Record<string, string>): this;
    write(chunk: string | Uint8Array): boolean;
    end(body?: string | Uint8Array): this;
  }
  export interface Server {
    listen(port: number, host: string, callback: () => void): this;
    address(): { port: number; address: string } | string | null;
    close(callback?: (err?: Error) => void): this;
    closeAllConnections(): void;
  }
  export function createServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Server;
}

declare const process: { env: Record<string, string | undefined> };
