/**
 * The cold commands' bundle (dist/bundle/cold.js): main.ts with commandRunner.ts inside. The
 * entry loads it instead of main.js for any command but the hot ones, so create, run, exec and
 * delete read and deserialize one bundle through one code cache rather than main.js and then
 * commandRunner.js, and the modules both hold are set up once (~1 ms of create and delete).
 */
import runner = require('./commandRunner');
import { main, useBundledRunner } from './main';

useBundledRunner(runner);

export { main };
