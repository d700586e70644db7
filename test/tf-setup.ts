/**
 * TensorFlow.js as a test oracle: the pure-JavaScript CPU backend, set up once per test file.
 */
import * as tf from '@tensorflow/tfjs'
import { beforeAll } from 'vitest'

/** Select TensorFlow's CPU backend before the file's tests run. */
export const useTensorFlowCpu = (): void => {
  beforeAll(async () => {
    // PROD silences the "install tfjs-node" notice (tfjs' own warn() is muted in prod mode).
    tf.enableProdMode()
    await tf.setBackend('cpu')
    await tf.ready()
  })
}
