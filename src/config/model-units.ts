// What every part of the configuration model is measured in: the file line a thing came from, and time.

export interface Source {
  file: string;
  line: number;
}

/** Durations are whole milliseconds everywhere in the model, whatever unit the front end used. */
export type Millis = number;
