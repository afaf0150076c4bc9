// Child processes that talk in lines: the servers, the load generator and the micro-benchmark.

import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const benchFile = (name: string): string => fileURLToPath(new URL(name, import.meta.url))

/**
 * The environment of every child. Under the test runner, children are not instrumented for coverage:
 * it would slow them down, and lib/'s coverage must come from its own tests.
 */
function childEnv (): NodeJS.ProcessEnv {
  return { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
}

/** A TypeScript file of bench/ run by Node through tsx, reading lines on stdin and writing lines on stdout. */
export class LineChild {
  readonly #child: ChildProcess
  readonly #lines: string[] = []
  readonly #waiting: Array<(line: string | null) => void> = []
  readonly #exited: Promise<number | null>
  #closed = false
  #exitCode: number | null = null
  readonly #name: string

  /**
   * `trace`, when given, takes the lines that are not JSON objects instead of the protocol: what V8
   * prints on stdout under diagnostic flags such as --trace-gc.
   */
  constructor (file: string, args: readonly string[], nodeFlags: readonly string[] = [], trace?: (line: string) => void) {
    this.#name = `${file} ${args.join(' ')}`
    this.#child = spawn(process.execPath, ['--import', 'tsx', ...nodeFlags, benchFile(file), ...args], {
      cwd: ROOT,
      env: childEnv(),
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    // A child that has exited makes writes to its stdin fail (EPIPE); next() reports the exit instead.
    this.#child.stdin?.on('error', () => {})
    this.#exited = new Promise((resolve) => {
      // 'close', not 'exit': every line the child wrote has been read by then.
      this.#child.on('close', (code) => {
        this.#closed = true
        this.#exitCode = code
        for (const waiter of this.#waiting.splice(0)) waiter(null)
        resolve(code)
      })
    })
    const lines = createInterface({ input: this.#child.stdout as NodeJS.ReadableStream })
    lines.on('line', (line) => {
      if (trace !== undefined && !line.startsWith('{')) return trace(line)
      const waiter = this.#waiting.shift()
      if (waiter === undefined) this.#lines.push(line)
      else waiter(line)
    })
  }

  /** The child's process id (the Node process itself: it is spawned without a shell). */
  get pid (): number | undefined {
    return this.#child.pid
  }

  /** The next line the child writes; rejects if it exits first or takes longer than `timeoutMs`. */
  async next (timeoutMs: number): Promise<string> {
    const queued = this.#lines.shift()
    if (queued !== undefined) return queued
    if (this.#closed) throw this.#exitError()
    let timer: NodeJS.Timeout | undefined
    const line = await new Promise<string | null>((resolve) => {
      this.#waiting.push(resolve)
      timer = setTimeout(() => {
        const at = this.#waiting.indexOf(resolve)
        if (at !== -1) this.#waiting.splice(at, 1)
        resolve(null)
      }, timeoutMs)
    }).finally(() => clearTimeout(timer))
    if (line === null) throw this.#closed ? this.#exitError() : new Error(`${this.#name}: no answer within ${timeoutMs} ms`)
    return line
  }

  #exitError (): Error {
    return new Error(`${this.#name} exited with code ${this.#exitCode} before answering (its error is above)`)
  }

  /** Writes a line and returns the line that answers it. */
  async ask (line: string, timeoutMs: number): Promise<string> {
    this.#child.stdin?.write(line + '\n')
    return this.next(timeoutMs)
  }

  /** Closes stdin, which ends the child; kills it if it is still there after a few seconds. */
  async close (): Promise<void> {
    this.#child.stdin?.end()
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000)
    await this.#exited
    clearTimeout(timer)
  }
}
