// mod_reqtimeout's RequestReadTimeout arguments, read as httpd reads them (mod_reqtimeout.c, set_reqtimeouts):
// `stage=timeout[-maxtimeout][,MinRate=rate]` words, seconds and bytes per second, every word optional.
import type { ReadTimeout } from '../model.ts';

export type ReadStage = 'handshake' | 'header' | 'body';

const STAGES: readonly ReadStage[] = ['handshake', 'header', 'body'];
const WORD = /^(\d{1,6})(?:-(\d{1,6}))?(?:,minrate=(\d{1,9}))?$/i;

/** The stages the words set, in the model's milliseconds, or what is wrong with the first bad word. */
export function parseRequestReadTimeout(words: readonly string[]): Partial<Record<ReadStage, ReadTimeout>> | { error: string } {
  const stages: Partial<Record<ReadStage, ReadTimeout>> = {};
  for (const word of words) {
    const equals = word.indexOf('=');
    const stage = STAGES.find((s) => s === word.slice(0, equals).toLowerCase());
    if (equals === -1 || stage === undefined) {
      return { error: `"${word}" is not handshake=, header= or body=; expected words such as header=20-40,MinRate=500 body=20,MinRate=500` };
    }
    const value = word.slice(equals + 1);
    const match = WORD.exec(value);
    if (!match) return { error: `${stage}=${value} is not timeout[-maxtimeout][,MinRate=rate]; expected whole seconds and bytes per second, such as ${stage}=20-40,MinRate=500` };
    const [, timeout = '0', max = '0', rate] = match;
    if (rate !== undefined && Number(rate) === 0) return { error: `${stage}=${value}: MinRate must be larger than 0` };
    if (match[2] !== undefined && rate === undefined) return { error: `${stage}=${value}: a timeout range needs MinRate, as in ${stage}=${timeout}-${max},MinRate=500` };
    if (Number(max) > 0 && Number(timeout) >= Number(max)) return { error: `${stage}=${value}: the maximum timeout must be larger than the initial one` };
    stages[stage] = { timeout: Number(timeout) * 1000, minRate: Number(rate ?? 0), max: Number(max) * 1000 };
  }
  return stages;
}
