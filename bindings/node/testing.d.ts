/// <reference lib="esnext.disposable" />
// Types of `require('ferromq/testing')` (testing.js). The addon's classes behind it
// (NativeLocalCluster, NativeLocalBroker) and the options' type are in index.d.ts.

import type { LocalClusterBinaries, LocalClusterOptions } from './index'

/**
 * How to start a local cluster (every field optional): `brokers`, `slaves`, `brokerConfig`,
 * `namesrvConfig`, `bootTimeoutMs`, `waitForRegistration`, and `bundledBinDir` (default: the
 * servers this package bundles; then `FERROMQ_BIN_DIR`, then `PATH`). Documented in index.d.ts.
 */
export type { LocalClusterOptions, LocalClusterBinaries }

/** One `mqbroker` process of a cluster. */
export declare class LocalBroker {
  /** `brokerName` (`broker-a`, ...). */
  readonly brokerName: string
  /** `brokerId` (0 for a master). */
  readonly brokerId: number
  /** `127.0.0.1:listenPort`. */
  readonly addr: string
  /** `listenPort` (the broker also uses `listenPort - 2` and, for HA, `listenPort + 1`). */
  readonly port: number
  /** The broker's directory: properties file, `store/`, one log per start. */
  readonly dir: string
  /** Whether the process is running. */
  readonly running: boolean
  /** The last lines of the current (or last) process's log. */
  logTail(): string
  /** A properties line for the broker from its next `restart()` on (it wins over earlier ones). */
  addConfig(line: string): void
  /** `SIGKILL`, as a crash would: no shutdown, no unregistration. */
  kill(): Promise<void>
  /** A clean stop (`SIGTERM`; `SIGKILL` after 10 s). */
  stop(): Promise<void>
  /** Starts it again on the same ports and store; resolves once the name server lists it. */
  restart(): Promise<void>
}

/**
 * A real FerroMQ name server and brokers (the `mqnamesrv`/`mqbroker` binaries) on free
 * loopback ports with a temporary store. `start` resolves once the name server lists every
 * broker; `stop()` (or `await using`) stops the servers and deletes the directory. Clusters
 * still running when the process exits are killed.
 *
 * The binaries: the ones this package bundles, else `FERROMQ_BIN_DIR`, else `PATH`; the
 * error says where it looked.
 */
export declare class LocalCluster {
  static start(options?: LocalClusterOptions): Promise<LocalCluster>
  /** The name server's address, `127.0.0.1:port`. */
  readonly namesrvAddr: string
  /** `{ namesrvAddr }`, to spread into client options. */
  readonly client: { namesrvAddr: string }
  /** The cluster's directory (`namesrv/`, one directory per broker). */
  readonly dir: string
  /** The binaries the cluster runs and where they were found. */
  readonly binaries: LocalClusterBinaries
  /** The number of broker groups. */
  readonly brokerCount: number
  /** Whether `stop()` ran. */
  readonly stopped: boolean
  /** The master of broker group `index` (0 = `broker-a`). */
  broker(index?: number): LocalBroker
  /** The slave of broker group `index` (clusters started with `slaves: true`). */
  slave(index?: number): LocalBroker
  /** Stops every server cleanly and deletes the directory; a second call does nothing. */
  stop(): Promise<void>
  /** `stop()`, for `await using` (TypeScript 5.2+). */
  [Symbol.asyncDispose](): Promise<void>
}
