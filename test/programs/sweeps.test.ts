import { afterEach, beforeEach, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import * as fs from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Deferred, Effect, Either, Exit, Scope } from "effect"
import { FileFailure } from "../../src/domain/errors.ts"
import { serveFolder } from "../../src/programs/server/server.ts"
import { SWEEP_EVERY_MILLIS, sweptNote } from "../../src/programs/server/sweeps.ts"
import { FileStore, type FileStoreService } from "../../src/services/FileStore.ts"
import { makeFileStore } from "../../src/services/FileStoreLive.ts"
import { MARKS_FOLDER, makeInstance, ownerOf } from "../../src/services/files/owners.ts"
import { waitFor } from "../support/hostile.ts"
import { elapse, inMemory, type World } from "../support/memory.ts"
import { deadPid, processState, startWriter, zombie } from "../support/writers.ts"

/**
 * A running server sweeps its folder every `SWEEP_EVERY_MILLIS` on the
 * Clock, so the temporaries and mark of a peer that crashed (another server
 * process on the same folder, never restarted) go away while this one keeps
 * serving. The schedule is driven by the TestClock over the in-memory world;
 * the sweeping itself runs against the live store on a temporary folder, with
 * a real writer process killed with SIGKILL.
 */

const HAS_PROC = existsSync("/proc/self/stat")
if (!HAS_PROC) console.log("sem /proc: o caso do processo zumbi é pulado (só o Linux mostra o estado de um processo)")

/** The log line of a periodic sweep that removed `removed` temporaries: an operation's shape, with no client. */
const sweepLine = (removed: number) =>
  expect.stringMatching(new RegExp(`^\\S+Z - limpeza - ok \\(${sweptNote(removed)}\\) 0 bytes \\d+ ms$`))

/** Starts another server on the world's network over `store`, in a scope of its own (closed to stop it, or with the test's). */
const serveWith = (world: World, store: FileStoreService) =>
  Effect.gen(function* () {
    const scope = yield* Effect.acquireRelease(Scope.make(), (made) => Scope.close(made, Exit.void))
    yield* serveFolder({ hostname: "127.0.0.1", port: 0, graceMillis: 0 }).pipe(
      Effect.provideService(FileStore, store),
      Effect.provide(world.serverLayer),
      Scope.extend(scope)
    )
    return scope
  })

test("every SWEEP_EVERY_MILLIS on the Clock (not before), logged only when it removed something; stops with the server", () =>
  inMemory({}, (world) =>
    Effect.gen(function* () {
      let full = 0
      let cheap = 0
      const store: FileStoreService = {
        ...world.server,
        sweepTemporaries: Effect.sync(() => {
          full++
          return 0
        }),
        // The second periodic sweep finds a crashed peer's temporaries.
        sweepIfAnyGone: Effect.sync(() => (++cheap === 2 ? 3 : 0))
      }
      const scope = yield* serveWith(world, store)
      expect([full, cheap]).toEqual([1, 0])
      yield* elapse(SWEEP_EVERY_MILLIS - 1)
      expect(cheap).toBe(0)
      yield* elapse(1)
      expect(cheap).toBe(1)
      expect(world.logged(" limpeza ")).toEqual([])
      yield* elapse(SWEEP_EVERY_MILLIS)
      expect(cheap).toBe(2)
      expect(world.logged(" limpeza ")).toEqual([sweepLine(3)])
      yield* Scope.close(scope, Exit.void)
      // The sweep at stop, then no more periodic ones.
      expect([full, cheap]).toEqual([2, 2])
      yield* elapse(3 * SWEEP_EVERY_MILLIS)
      expect([full, cheap]).toEqual([2, 2])
    })
  ))

test("a periodic sweep that fails (an unreachable folder) is tried again at the next tick", () =>
  inMemory({}, (world) =>
    Effect.gen(function* () {
      let cheap = 0
      const store: FileStoreService = {
        ...world.server,
        sweepIfAnyGone: Effect.suspend(() =>
          ++cheap === 1
            ? Effect.fail(new FileFailure({ name: ".", reason: "NotFound", detail: "pasta inacessível" }))
            : Effect.succeed(0)
        )
      }
      yield* serveWith(world, store)
      yield* elapse(SWEEP_EVERY_MILLIS)
      yield* elapse(SWEEP_EVERY_MILLIS)
      expect(cheap).toBe(2)
    })
  ))

let root: string
beforeEach(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(tmpdir(), "varreduras-")))
})
afterEach(() => fs.rm(root, { recursive: true, force: true }))

const temporaries = async () =>
  (await fs.readdir(root, { recursive: true })).filter((name) => ownerOf(path.basename(name)) !== undefined)
const marks = () => fs.readdir(path.join(root, MARKS_FOLDER)).catch(() => [] as Array<string>)

/**
 * A peer writer (another process) crashes while a server on the same folder
 * runs and is never restarted; the server's next periodic sweep removes the
 * crashed writer's temporary and mark, and nothing of a live upload of its own.
 */
const peerCrashes = (reaped: boolean) =>
  inMemory({}, (world) =>
    Effect.gen(function* () {
      const writer = yield* Effect.acquireRelease(
        Effect.promise(() => startWriter(root, { reaped })),
        (started) => Effect.promise(() => started.stop())
      )
      const live = yield* makeFileStore(root)
      let swept = yield* Deferred.make<number>()
      const store: FileStoreService = {
        ...live,
        sweepIfAnyGone: Effect.tap(live.sweepIfAnyGone, (removed) => Deferred.succeed(swept, removed))
      }
      yield* serveWith(world, store)
      // The sweep at start keeps the writer's upload: it is alive.
      expect(yield* Effect.promise(temporaries)).toHaveLength(1)
      // An upload of this server's own, in flight through the sweeps.
      const mine = yield* live.createAtomic("meu.bin")
      const written = mine.sink.write(new TextEncoder().encode("em curso"))
      if (Either.isLeft(written)) return yield* written.left

      yield* Effect.sync(writer.crash)
      const dead = () => (reaped ? processState(writer.pid) === undefined : zombie(writer.pid))
      expect(yield* Effect.promise(() => waitFor(dead, 5_000))).toBe(true)
      yield* elapse(SWEEP_EVERY_MILLIS - 1)
      expect(yield* Effect.promise(temporaries)).toHaveLength(2)
      yield* elapse(1)
      expect(yield* Deferred.await(swept)).toBe(1)
      expect(world.logged(" limpeza ")).toEqual([sweepLine(1)])
      // Only this server's upload and its mark are left (the mark until the upload's scope ends); it publishes.
      expect(yield* Effect.promise(temporaries)).toHaveLength(1)
      expect(yield* Effect.promise(marks)).toHaveLength(1)
      if (!reaped) expect(processState(writer.pid)).toBe("Z")
      yield* mine.commit
      const visible = (yield* Effect.promise(() => fs.readdir(root))).filter((name) => name !== MARKS_FOLDER)
      expect(visible).toEqual(["meu.bin"])

      // Nothing crashed since: the next sweep removes nothing, and logs nothing.
      swept = yield* Deferred.make<number>()
      yield* elapse(SWEEP_EVERY_MILLIS)
      expect(yield* Deferred.await(swept)).toBe(0)
      expect(world.logged(" limpeza ")).toHaveLength(1)
    })
  )

test("a peer killed with SIGKILL mid-upload, never restarted: the running server's next sweep removes its temporary and mark", () =>
  peerCrashes(true))

test.skipIf(!HAS_PROC)(
  "the same when the killed peer stays unreaped (a zombie): removed at the next sweep, while still a zombie",
  () => peerCrashes(false)
)

test("the sweeps at start and at stop log what they removed too; one that removed nothing logs nothing", () =>
  inMemory({}, (world) =>
    Effect.gen(function* () {
      // What a writer killed before this server started left behind.
      const killed = makeInstance(root, { pid: yield* Effect.promise(deadPid) })
      yield* Effect.acquireRelease(Effect.sync(killed.hold), (release) => Effect.sync(release))
      const names = [killed.temporaryName(), killed.temporaryName()]
      for (const name of names) yield* Effect.promise(() => fs.writeFile(path.join(root, name), "parte"))
      const scope = yield* serveWith(world, yield* makeFileStore(root))
      expect(yield* Effect.promise(() => fs.readdir(root))).toEqual([])
      expect(world.logged(" limpeza ")).toEqual([sweepLine(2)])
      yield* Scope.close(scope, Exit.void)
      expect(world.logged(" limpeza ")).toHaveLength(1)
    })
  ))
