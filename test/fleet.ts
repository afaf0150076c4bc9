import { spawn, type ChildProcess } from 'node:child_process'
import { Agent, request } from 'node:http'
import { fileURLToPath } from 'node:url'

// A fleet of instances (test/fleet-instance.ts), each its own process, for the tests and the benchmark.

const root = fileURLToPath(new URL('..', import.meta.url))
/** Without the npm_* variables of an enclosing npm run, and recording no coverage (lib/ is covered in-process). */
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_'))),
  _TAPJS_PROCESSINFO_COVERAGE_: '0',
}

export interface Instance {
  readonly port: number
  readonly child: ChildProcess
  /** Its log lines so far (stderr), parsed when they are JSON. */
  readonly lines: Array<Record<string, any>>
  readonly stderr: () => string
  /** Sends SIGTERM and resolves with the exit code once the process has exited on its own. */
  stop: () => Promise<number | null>
}

export async function startInstance (databaseUrl: string, table = 'cors_policies'): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', './test/typescript-loader.mjs', 'test/fleet-instance.ts'], {
    cwd: root,
    env: { ...env, DATABASE_URL: databaseUrl, CORS_TABLE: table },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  const lines: Array<Record<string, any>> = []
  let partial = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
    const complete = (partial + chunk).split('\n')
    partial = complete.pop()!
    for (const line of complete) {
      try {
        lines.push(JSON.parse(line))
      } catch {
        // Not a log line: it stays in stderr().
      }
    }
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      const match = /\{"port":(\d+)\}/.exec(stdout)
      if (match !== null) resolve(Number(match[1]))
    })
    exited.then((code) => reject(new Error(`the instance exited (${code}) before listening: ${stderr}`)))
  })
  return {
    port,
    child,
    lines,
    stderr: () => stderr,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      return exited
    },
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 })

/** The Access-Control-Allow-Origin an instance answers a GET from `origin` with (status 200), or throws. */
export function allowedOrigin (port: number, origin: string, path = '/'): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { origin } }, (res) => {
      res.resume()
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`))
        else resolve(res.headers['access-control-allow-origin'] as string | undefined)
      })
    })
    req.setTimeout(5000, () => req.destroy(new Error('no answer in 5 s')))
    req.on('error', reject)
    req.end()
  })
}

/** An instance's JSON answer on a path. */
export function getJson (port: number, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk }).on('end', () => { resolve(JSON.parse(body)) })
    }).on('error', reject).end()
  })
}

/** Whether every instance lets `origin` read responses. */
export async function allEnforce (fleet: readonly Instance[], origin: string): Promise<boolean> {
  const answers = await Promise.all(fleet.map((instance) => allowedOrigin(instance.port, origin)))
  return answers.every((answer) => answer === origin)
}

export function closeAgent (): void {
  agent.destroy()
}
