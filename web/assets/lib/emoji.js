/**
 * emoji.js: Slack shortcode names (as reactions and `:name:` in text use them) and the
 * characters they stand for. A built-in table of common ones; an unknown name is shown
 * as `:name:` text.
 */

const TABLE = {
  // Faces
  smile: '😄', smiley: '😃', grinning: '😀', grin: '😁', laughing: '😆', satisfied: '😆',
  sweat_smile: '😅', joy: '😂', rofl: '🤣', slightly_smiling_face: '🙂', upside_down_face: '🙃',
  wink: '😉', blush: '😊', innocent: '😇', heart_eyes: '😍', star_struck: '🤩',
  kissing_heart: '😘', yum: '😋', stuck_out_tongue: '😛', stuck_out_tongue_winking_eye: '😜',
  zany_face: '🤪', money_mouth_face: '🤑', hugging_face: '🤗', hugs: '🤗', thinking_face: '🤔', thinking: '🤔',
  shushing_face: '🤫', zipper_mouth_face: '🤐', raised_eyebrow: '🤨', neutral_face: '😐',
  expressionless: '😑', no_mouth: '😶', smirk: '😏', unamused: '😒', roll_eyes: '🙄',
  face_with_rolling_eyes: '🙄', grimacing: '😬', relieved: '😌', pensive: '😔', sleepy: '😪',
  sleeping: '😴', mask: '😷', nerd_face: '🤓', sunglasses: '😎', confused: '😕', worried: '😟',
  slightly_frowning_face: '🙁', open_mouth: '😮', hushed: '😯', astonished: '😲', flushed: '😳',
  pleading_face: '🥺', cry: '😢', sob: '😭', scream: '😱', confounded: '😖', disappointed: '😞',
  sweat: '😓', weary: '😩', tired_face: '😫', yawning_face: '🥱', triumph: '😤', rage: '😡',
  angry: '😠', exploding_head: '🤯', skull: '💀', poop: '💩', hankey: '💩', clown_face: '🤡',
  ghost: '👻', alien: '👽', robot_face: '🤖', robot: '🤖', smiley_cat: '😺', partying_face: '🥳',
  face_palm: '🤦', facepalm: '🤦', shrug: '🤷', see_no_evil: '🙈', hear_no_evil: '🙉', speak_no_evil: '🙊',
  // Hands and people
  wave: '👋', raised_hand: '✋', hand: '✋', ok_hand: '👌', pinched_fingers: '🤌', v: '✌️',
  crossed_fingers: '🤞', metal: '🤘', call_me_hand: '🤙', point_left: '👈', point_right: '👉',
  point_up: '☝️', point_down: '👇', '+1': '👍', thumbsup: '👍', '-1': '👎', thumbsdown: '👎',
  fist: '✊', punch: '👊', facepunch: '👊', clap: '👏', raised_hands: '🙌', open_hands: '👐',
  handshake: '🤝', pray: '🙏', muscle: '💪', writing_hand: '✍️', eyes: '👀', eye: '👁️',
  brain: '🧠', bow: '🙇', man_shrugging: '🤷‍♂️', woman_shrugging: '🤷‍♀️',
  // Hearts and symbols
  heart: '❤️', orange_heart: '🧡', yellow_heart: '💛', green_heart: '💚', blue_heart: '💙',
  purple_heart: '💜', black_heart: '🖤', white_heart: '🤍', broken_heart: '💔', sparkling_heart: '💖',
  two_hearts: '💕', '100': '💯', fire: '🔥', sparkles: '✨', star: '⭐', star2: '🌟', zap: '⚡',
  boom: '💥', collision: '💥', tada: '🎉', confetti_ball: '🎊', balloon: '🎈', gift: '🎁',
  trophy: '🏆', medal: '🏅', first_place_medal: '🥇', white_check_mark: '✅', heavy_check_mark: '✔️',
  ballot_box_with_check: '☑️', x: '❌', negative_squared_cross_mark: '❎', warning: '⚠️',
  no_entry: '⛔', no_entry_sign: '🚫', question: '❓', grey_question: '❔', exclamation: '❗',
  bangbang: '‼️', heavy_plus_sign: '➕', heavy_minus_sign: '➖', arrow_right: '➡️',
  arrow_left: '⬅️', arrow_up: '⬆️', arrow_down: '⬇️', recycle: '♻️', red_circle: '🔴',
  large_green_circle: '🟢', large_blue_circle: '🔵', white_circle: '⚪', black_circle: '⚫',
  speech_balloon: '💬', thought_balloon: '💭', bell: '🔔', no_bell: '🔕', lock: '🔒', unlock: '🔓',
  key: '🔑', bulb: '💡', mag: '🔍', pushpin: '📌', paperclip: '📎', link: '🔗', memo: '📝',
  pencil2: '✏️', calendar: '📅', date: '📅', clipboard: '📋', chart_with_upwards_trend: '📈',
  chart_with_downwards_trend: '📉', bar_chart: '📊', email: '📧', envelope: '✉️', inbox_tray: '📥',
  outbox_tray: '📤', package: '📦', books: '📚', book: '📖', bookmark: '🔖', moneybag: '💰',
  hourglass: '⌛', alarm_clock: '⏰', stopwatch: '⏱️', hammer: '🔨', wrench: '🔧', gear: '⚙️',
  hammer_and_wrench: '🛠️', bug: '🐛', computer: '💻', keyboard: '⌨️', iphone: '📱',
  telephone_receiver: '📞', camera: '📷', tv: '📺', rocket: '🚀', airplane: '✈️', car: '🚗',
  bike: '🚲', ship: '🚢', construction: '🚧', rotating_light: '🚨', checkered_flag: '🏁',
  triangular_flag_on_post: '🚩', house: '🏠', office: '🏢', hospital: '🏥', school: '🏫',
  // Nature, food, activities
  sunny: '☀️', cloud: '☁️', umbrella: '☔', snowflake: '❄️', rainbow: '🌈', ocean: '🌊',
  earth_africa: '🌍', earth_americas: '🌎', globe_with_meridians: '🌐', crescent_moon: '🌙',
  seedling: '🌱', evergreen_tree: '🌲', palm_tree: '🌴', cactus: '🌵', four_leaf_clover: '🍀',
  rose: '🌹', sunflower: '🌻', tulip: '🌷', cherry_blossom: '🌸', dog: '🐶', cat: '🐱',
  mouse: '🐭', rabbit: '🐰', fox_face: '🦊', bear: '🐻', panda_face: '🐼', tiger: '🐯',
  lion_face: '🦁', cow: '🐮', pig: '🐷', frog: '🐸', monkey_face: '🐵', chicken: '🐔',
  penguin: '🐧', bird: '🐦', owl: '🦉', unicorn_face: '🦄', bee: '🐝', turtle: '🐢', snake: '🐍',
  octopus: '🐙', fish: '🐟', whale: '🐳', crab: '🦀', apple: '🍎', banana: '🍌', lemon: '🍋',
  watermelon: '🍉', grapes: '🍇', strawberry: '🍓', peach: '🍑', avocado: '🥑', pizza: '🍕',
  hamburger: '🍔', fries: '🍟', taco: '🌮', burrito: '🌯', sushi: '🍣', ramen: '🍜',
  bread: '🍞', cheese: '🧀', egg: '🥚', cake: '🍰', birthday: '🎂', cookie: '🍪', doughnut: '🍩',
  ice_cream: '🍨', popcorn: '🍿', coffee: '☕', tea: '🍵', beer: '🍺', beers: '🍻', wine_glass: '🍷',
  cocktail: '🍸', champagne: '🍾', soccer: '⚽', basketball: '🏀', football: '🏈', tennis: '🎾',
  video_game: '🎮', dart: '🎯', game_die: '🎲', musical_note: '🎵', notes: '🎶', guitar: '🎸',
  art: '🎨', movie_camera: '🎥', ticket: '🎫', runner: '🏃', running: '🏃', dancer: '💃',
  zzz: '💤', wave_dash: '〰️', ok: '🆗', new: '🆕', cool: '🆒', free: '🆓', sos: '🆘',
};

/** The emoji for a shortcode (with or without colons and a skin tone), or undefined. */
export function emojiFor(name) {
  if (!name) return undefined;
  const bare = name.replace(/^:|:$/g, '').split('::')[0];
  return Object.hasOwn(TABLE, bare) ? TABLE[bare] : undefined;
}

/** Every known shortcode, in table order. */
export const EMOJI_NAMES = Object.keys(TABLE);

/** Shortcodes offered first in the reaction picker. */
export const FREQUENT = [
  '+1', 'heart', 'joy', 'tada', 'eyes', 'white_check_mark', 'fire', 'pray', 'raised_hands',
  'thinking_face', 'rocket', '100', 'smile', 'sob', 'clap', 'ok_hand',
];

/** Shortcodes whose name contains `query`, known ones only, best (prefix) matches first. */
export function searchEmoji(query, limit = 60) {
  const q = query.toLowerCase().replace(/^:/, '');
  if (!q) return EMOJI_NAMES.slice(0, limit);
  const seen = new Set();
  const out = [];
  for (const pass of [(n) => n.startsWith(q), (n) => n.includes(q)]) {
    for (const n of EMOJI_NAMES) {
      if (out.length >= limit) return out;
      if (!seen.has(TABLE[n]) && pass(n)) {
        seen.add(TABLE[n]);
        out.push(n);
      }
    }
  }
  return out;
}
